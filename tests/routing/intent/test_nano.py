"""The nano router over a real trained checkpoint: ONNX export and parity, accuracy
well above chance, calibration, truncation in `reason`, edge inputs, bad folders."""
from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest
import torch

from cadre.data.examples import Example
from cadre.errors import CadreError
from cadre.routing import OUT_OF_SCOPE, load_router
from cadre.routing.intent.fit import finish_nano
from cadre.routing.intent.keyword import DEFAULT_RULES
from cadre.routing.intent import nano_graph
from cadre.routing.intent.nano import GRAPH_KEY, NanoRouter, _export, _logits_only, check_parity, open_session
from tests.conftest import ROUTER_LABELS

torch.set_num_threads(1)


def _fresh_examples(n_per_label=6, seed=7):
    """Unseen texts from the fixture's templates (other objects and numbers)."""
    rng = random.Random(seed)
    things = ["a horse", "the river", "my shoes", "a bridge", "three lamps", "the garden"]
    return [Example(question=f"{rng.choice(cues)} {rng.choice(things)} {100 + i}", label=label)
            for label, cues in ROUTER_LABELS.items() for i in range(n_per_label)]


@pytest.fixture(scope="module")
def nano_dir(tiny_router_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("nano") / "router"
    shutil.copytree(tiny_router_dir, folder)
    finish_nano(folder, val=_fresh_examples(seed=3), target_precision=0.8, default_route="chat",
                fallback_rules=DEFAULT_RULES)
    return folder


def test_folder_is_a_nano_router_with_onnx(nano_dir):
    meta = json.loads((nano_dir / "cadre.json").read_text())
    assert meta["router_kind"] == "nano" and set(meta["thresholds"]) == set(ROUTER_LABELS)
    router = load_router(nano_dir)
    assert isinstance(router, NanoRouter) and router.backend == "onnx"
    assert (nano_dir / "model.onnx").is_file() and (nano_dir / "fallback.yaml").is_file()


def test_onnx_matches_torch_logits(nano_dir):
    onnx_router = NanoRouter.load(nano_dir)
    torch_router = NanoRouter.load(nano_dir, prefer_onnx=False)
    assert torch_router.backend == "torch"
    texts = [ex.question for ex in _fresh_examples(2)] + ["", "x " * 400, "画一只猫 🐱"]
    diff = np.abs(onnx_router.logits_batch(texts) - torch_router.logits_batch(texts)).max()
    assert diff < 1e-4
    worst = check_parity(torch_router.model, open_session(nano_dir / "model.onnx"),
                         torch_router.model.config.vocab_size, torch_router.pad)
    assert worst < 1e-4


def _graph(path) -> str:
    return open_session(path).get_modelmeta().custom_metadata_map.get(GRAPH_KEY, "")


def test_export_is_the_lean_graph_and_an_older_export_is_redone_once(nano_dir, tmp_path):
    assert _graph(nano_dir / "model.onnx") == nano_graph.GRAPH
    folder = tmp_path / "router"
    shutil.copytree(nano_dir, folder)
    model = NanoRouter.load(folder, prefer_onnx=False).model
    sample = torch.randint(16, model.config.vocab_size, (2, 12))
    _export(_logits_only(model).eval(), sample, str(folder / "model.onnx"))  # as before the lean graph
    assert _graph(folder / "model.onnx") == ""
    texts = [ex.question for ex in _fresh_examples(2)]
    before = NanoRouter.load(folder, prefer_onnx=False).logits_batch(texts)
    router = NanoRouter.load(folder)
    assert router.backend == "onnx" and _graph(folder / "model.onnx") == nano_graph.GRAPH
    assert np.abs(router.logits_batch(texts) - before).max() < 1e-4
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    NanoRouter.load(folder)
    assert (folder / "model.onnx").stat().st_mtime_ns == stamp  # marked: not exported again


def test_lean_graph_matches_the_model_on_left_padding_too(nano_dir):
    model = NanoRouter.load(nano_dir, prefer_onnx=False).model
    lean = nano_graph.LeanClassifier(model).eval()
    ids = torch.randint(16, model.config.vocab_size, (3, 9), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    ids[0, :3], mask[0, :3] = model.config.pad_token_id, 0  # left-padded row
    ids[1, -2:], mask[1, -2:] = model.config.pad_token_id, 0  # right-padded row
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask).logits
        assert (lean(ids, mask) - ref).abs().max() < 1e-4


def test_beats_chance_clearly(nano_dir):
    router = load_router(nano_dir)
    router.set_thresholds({k: 0.0 for k in ROUTER_LABELS})
    test = _fresh_examples(seed=11)
    choices = router.route_batch([ex.question for ex in test])
    accuracy = np.mean([c.name == ex.label for c, ex in zip(choices, test)])
    assert accuracy > 3 / len(ROUTER_LABELS), accuracy  # chance is 1/7
    single = [router.route(ex.question).name for ex in test[:5]]
    assert single == [c.name for c in choices[:5]]  # batched (padded) and single agree


def test_below_threshold_goes_down_the_chain(nano_dir):
    router = load_router(nano_dir)
    router.set_thresholds({k: 1.0 for k in ROUTER_LABELS})  # nothing passes
    choice = router.route("draw me a lighthouse")
    assert choice.name == "image"
    assert choice.reason.startswith("nano ") and "< 1.00 → keyword image" in choice.reason
    choice = router.route("qwzx plorb")
    assert choice.name == "chat" and choice.reason.endswith("→ keyword: no rule matched → default chat")


@pytest.mark.parametrize("text", ["", "word " * 2000, "你好，请帮我翻译这句话", "مرحبا كيف حالك", "🐱🎨🔥"])
def test_edge_inputs_and_truncation(nano_dir, text):
    router = load_router(nano_dir)
    choice = router.route(text)
    assert choice.name in set(ROUTER_LABELS) | {"image", OUT_OF_SCOPE} | set(router.fallback.labels)
    assert ("input truncated to 256 tokens" in choice.reason) == (len(text) > 5000)


def test_bad_folders(nano_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(nano_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    (broken / "model.onnx").unlink()
    with pytest.raises(CadreError, match="corrupt or truncated"):
        NanoRouter.load(broken, prefer_onnx=False)
    meta = json.loads((broken / "cadre.json").read_text())
    (broken / "cadre.json").write_text(json.dumps({**meta, "labels": ["only"]}))
    with pytest.raises(CadreError, match="fewer than two labels"):
        load_router(broken)
    (broken / "cadre.json").write_text(json.dumps({**meta, "router_kind": "warp"}))
    with pytest.raises(CadreError, match="not a router folder"):
        load_router(broken)


def test_default_router_chain_uses_a_trained_folder(nano_dir):
    from cadre.routing import default_router
    from cadre.routing.intent.keyword import KeywordRouter

    router = default_router(models_dir=nano_dir.parent)  # finds <models>/router
    assert isinstance(router, NanoRouter) and isinstance(router.fallback, KeywordRouter)
    assert router.default_route == "chat"
    router.set_thresholds({k: 1.0 for k in ROUTER_LABELS})
    assert router.route("qwzx plorb").reason.endswith("→ keyword: no rule matched → default chat")
    keyword_only = default_router(models_dir=nano_dir.parent / "nothing-here")
    assert isinstance(keyword_only, KeywordRouter) and keyword_only.route("qwzx").name == "chat"


def test_plain_trainer_checkpoint_exports_onnx_on_first_load(tiny_router_dir, tmp_path):
    folder = tmp_path / "plain"
    shutil.copytree(tiny_router_dir, folder)
    (folder / "model.onnx").unlink(missing_ok=True)
    router = load_router(folder)  # cadre.json has type "router" but no router_kind
    assert isinstance(router, NanoRouter) and router.backend == "onnx" and (folder / "model.onnx").is_file()
    assert not list(folder.glob(".model.*.tmp"))  # the atomic export left no temporary file
    assert router.route("draw a picture of a dog 3").name in ROUTER_LABELS
