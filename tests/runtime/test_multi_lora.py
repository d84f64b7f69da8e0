"""Multi-LoRA serving on the real SmolLM2-135M base: adapters of one base share one loaded
copy of it, a mixed batch answers as each adapter alone, and the manager counts the base
once, each adapter at its own size, evicting adapters least recently used."""
from __future__ import annotations

import time

import pytest

from cadre.runtime.backends.lora_host import LoraHost, Row
from cadre.runtime.errors import Overloaded
from cadre.runtime.manager import ModelManager
from cadre.runtime.registry import ModelCapability, ModelSpec, Registry

PROMPTS = {"sql": "Write SQL to count the users.", "sentiment": "Is 'a wonderful film' positive?",
           "ner": "Name the people in: Ada met Alan in London."}


@pytest.fixture(scope="module")
def host(smollm2_adapters):
    import torch

    torch.set_num_threads(1)
    from cadre.runtime.backends.lora_host import base_key, base_path

    h = LoraHost(base_path(base_key(smollm2_adapters["sql"])), "cpu", max_batch=8)
    h.load()
    for name, folder in smollm2_adapters.items():
        h.add_adapter(name, folder)
    yield h
    h.unload()


def prompt_ids(host, text):
    tok = host.tokenizer
    chat = tok.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)
    return tok.encode(chat, add_special_tokens=False), {tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")}


def rows(host, pairs, max_tokens=12):
    out = []
    for adapter, text in pairs:
        ids, stops = prompt_ids(host, text)
        out.append(Row(adapter, ids, max_tokens, stops))
    return out


def test_a_mixed_batch_returns_what_each_adapter_returns_alone(host):
    pairs = [(name, PROMPTS[name]) for name in PROMPTS] + [("ner", PROMPTS["sql"])]  # two rows on one adapter
    alone = [list(host.submit(row)) for row in rows(host, pairs)]
    forwards = host.forwards
    together = [list(tokens) for tokens in host.submit_all(rows(host, pairs))]
    assert host.forwards - forwards <= 12  # one forward pass per token for all rows (the prompts', then 11 more)
    assert together == alone  # greedy, token for token
    # the adapters really differ: one prompt through each adapter gives different answers
    same_prompt = [list(t) for t in host.submit_all(rows(host, [(n, PROMPTS["sentiment"]) for n in PROMPTS]))]
    assert len({tuple(a) for a in same_prompt}) == 3


def test_a_request_arriving_mid_batch_joins_it_and_answers_as_alone(host):
    first, second = ("sql", PROMPTS["sql"]), ("ner", PROMPTS["ner"])
    before = host.forwards
    alone = [list(host.submit(row)) for row in rows(host, [first, second], max_tokens=16)]
    forwards = host.forwards
    alone_forwards = forwards - before
    running = host.submit(rows(host, [first], max_tokens=16)[0])
    head = [next(running), next(running)]  # the batch is decoding
    joined = list(host.submit(rows(host, [second], max_tokens=16)[0]))
    assert head + list(running) == alone[0] and joined == alone[1]
    assert host.forwards - forwards < alone_forwards - 4  # the second joined the running batch's passes


def test_a_reader_that_stops_early_frees_its_row(host):
    [tokens] = host.submit_all(rows(host, [("sql", PROMPTS["sql"])], max_tokens=200))
    first = next(tokens)
    tokens.close()  # as a stop string or a closed stream does
    assert isinstance(first, int)
    assert list(host.submit(rows(host, [("sql", PROMPTS["sql"])], max_tokens=2)[0]))  # the host still serves


def test_an_adapter_removed_while_its_abandoned_row_decodes_does_not_break_the_batch(host, smollm2_adapters):
    host.add_adapter("tmp", smollm2_adapters["ner"])
    want = list(host.submit(rows(host, [("sql", PROMPTS["sql"])], max_tokens=12)[0]))
    doomed, kept = host.submit_all(rows(host, [("tmp", PROMPTS["ner"]), ("sql", PROMPTS["sql"])], max_tokens=12))
    first = [next(doomed), next(kept)]
    doomed.close()  # the client left; the manager may now unload the adapter at once
    key = host.keys["tmp"]
    host.remove_adapter("tmp")
    assert [first[1], *kept] == want  # the other row decodes on to the end
    deadline = time.monotonic() + 10
    while key in host.peft.peft_config and time.monotonic() < deadline:
        time.sleep(0.05)  # the scheduler ends the batch just after its last token
    assert key not in host.peft.peft_config  # and the adapter went when the batch ended


def specs(adapters, **extra):
    return Registry([ModelSpec(name, path=str(folder), capabilities=(ModelCapability.PRIMARY_CHAT,), **extra)
                     for name, folder in adapters.items()])


def test_adapters_share_one_base_counted_once(smollm2_adapters):
    manager = ModelManager(specs(smollm2_adapters), memory_budget="3GB", keep_alive=600)
    try:
        answers = {}
        for name in smollm2_adapters:
            with manager.use(name) as model:
                answers[name] = model.invoke(PROMPTS["sql"], max_tokens=10)
        [base] = manager.bases_status()
        assert base["state"] == "loaded" and base["loads"] == 1 and base["tensor_bytes"] > 400e6
        assert sorted(base["loaded_adapters"]) == sorted(smollm2_adapters)
        sizes = {r["name"]: r["charged_bytes"] for r in manager.status()}
        assert all(0 < size < 5e6 for size in sizes.values())  # each adapter at its own (tensor) size
        assert manager.used_bytes()["cpu"] == base["charged_bytes"] + sum(sizes.values())
        assert len(set(answers.values())) == 3  # each request answered by its own adapter
    finally:
        manager.close()
    assert manager.bases_status()[0]["state"] == "unloaded" and manager.used_bytes()["cpu"] == 0


def test_adapters_are_evicted_lru_within_the_budget_never_one_in_use(smollm2_adapters):
    manager = ModelManager(specs(smollm2_adapters), memory_budget="3GB", keep_alive=600, wait_timeout=1)
    try:
        manager.load("sql")
        manager.load("sentiment")
        manager.load("sql")  # sql used last: sentiment is the least recently used
        slots = manager.slots
        # room for one more adapter of the size measured, less a byte: a third one must evict
        manager.budgets["cpu"] = manager.used_bytes()["cpu"] + slots["sentiment"].need - 1
        manager.load("ner")
        assert [slots[n].state for n in ("sql", "sentiment", "ner")] == ["loaded", "unloaded", "loaded"]
        assert manager.bases_status()[0]["loads"] == 1  # the base stayed
        with manager.use("sql"), manager.use("ner"):  # both in use: nothing may go
            with pytest.raises(Overloaded):
                manager.acquire("sentiment")
            assert slots["sql"].state == slots["ner"].state == "loaded"
        with manager.use("sql"):
            manager.load("sentiment")  # ner is the idle one now
            assert [slots[n].state for n in ("sql", "sentiment", "ner")] == ["loaded", "loaded", "unloaded"]
    finally:
        manager.close()


def test_max_adapters_caps_the_adapters_per_base(smollm2_adapters):
    from cadre.config import LoraSettings

    manager = ModelManager(specs(smollm2_adapters), memory_budget="3GB", keep_alive=600,
                           lora=LoraSettings(max_adapters=2))
    try:
        for name in ("sql", "sentiment", "ner"):
            manager.load(name)
        assert [manager.slots[n].state for n in ("sql", "sentiment", "ner")] == ["unloaded", "loaded", "loaded"]
    finally:
        manager.close()


def test_share_base_off_merges_each_adapter_into_its_own_copy(smollm2_adapters):
    from cadre.config import LoraSettings

    two = dict(list(smollm2_adapters.items())[:2])
    manager = ModelManager(specs(two), memory_budget="3GB", keep_alive=600, lora=LoraSettings(share_base=False))
    try:
        for name in two:
            manager.load(name)
        assert manager.bases_status() == []
        assert all(r["tensor_bytes"] > 400e6 for r in manager.status())  # a full base each
    finally:
        manager.close()


def test_the_plan_counts_a_shared_base_once(smollm2_adapters, tiny_causal_dir):
    from cadre.runtime.backends.lora_host import (
        adapter_estimate,
        base_estimate,
        base_key,
    )
    from cadre.runtime.planner import plan_models, planned_bytes

    primary = ModelSpec("primary", path=str(tiny_causal_dir), capabilities=(ModelCapability.PRIMARY_CHAT,))
    adapters = [ModelSpec(name, path=str(folder), capabilities=(cap,), force=True) for (name, folder), cap in
                zip(smollm2_adapters.items(), (ModelCapability.CODE_GENERATION, ModelCapability.SUMMARIZATION,
                                               ModelCapability.TRANSLATION))]
    base = base_estimate(base_key(smollm2_adapters["sql"]))
    own = planned_bytes(primary) + sum(adapter_estimate(s.path) for s in adapters)
    plan = plan_models(Registry([primary, *adapters]), own + base + 1000)  # fits only with the base once
    assert sorted(plan.names) == ["ner", "primary", "sentiment", "sql"]
    assert plan.total_bytes == own + base
    assert {row["base"] for row in plan.to_dict()["chosen"] if row["name"] != "primary"} == {base_key(adapters[0].path)}
    short = plan_models(Registry([primary, *adapters]), planned_bytes(primary) + base // 2)
    assert short.names == ["primary"] and all("does not fit" in c.why for c in short.left_out)


def test_a_base_that_cannot_load_is_a_clear_error_and_holds_no_memory(tmp_path, smollm2_adapters):
    import shutil

    from cadre.checkpoint import read_metadata, write_metadata
    from cadre.runtime.errors import BackendError

    adapter = tmp_path / "adapter"
    shutil.copytree(smollm2_adapters["sql"], adapter)
    (tmp_path / "empty-base").mkdir()
    write_metadata(adapter, {**read_metadata(adapter), "base_path": str(tmp_path / "empty-base")})
    manager = ModelManager(specs({"broken": adapter}), memory_budget="3GB")
    try:
        with pytest.raises(BackendError, match="cannot load the LoRA base .*empty-base"):
            manager.acquire("broken")
        assert manager.bases_status()[0]["state"] == "unloaded" and manager.used_bytes()["cpu"] == 0
        assert manager.slots["broken"].state == "unloaded"
    finally:
        manager.close()
