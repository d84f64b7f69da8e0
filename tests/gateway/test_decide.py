"""The decide stage alone (runtime/decide/): 1,000 mixed requests (intent routes, a learned
router's choice, built-in tools, models named, client tools) are decided with every
answering model unloaded. Each Decision is what the request calls for, it is frozen, and
the manager loaded and held no answering model (only the learned router, which must score
the text, is loaded, as a router)."""
from __future__ import annotations

import dataclasses
import re

import pytest

from cadre.runtime.decide import Decision
from cadre.runtime.request import ChatRequest

CLIENT_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
POEMS = ["Write a short poem about the sea.", "Tell me a story about a lonely robot.",
         "Describe the history of ancient Rome.", "Why do people enjoy jazz music?"]
SUMS = ["what is 12 times 7", "compute 3 + 4", "solve 2x = 10", "what is 81 divided by 9"]
TRANSLATIONS = ["translate into french: good morning", "how do you say thank you in german",
                "translate 'cat' to spanish"]


def _helpers():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("gateway_helpers", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def engine(tmp_path_factory, learned_dir, stubs):
    from cadre.runtime.engine import Engine

    h = _helpers()
    path = tmp_path_factory.mktemp("decide") / "cadre.yaml"
    path.write_text(h.project_yaml(learned_dir, stubs, router="{keyword_fallback: true}",
                                   routes="routes: {chat: {learned: picker}}"))
    engine = Engine.from_config_file(path)
    yield engine
    engine.close()


def _mixed(n: int) -> list[tuple[ChatRequest, str]]:
    """n requests, each with the kind of decision it calls for."""
    out = []
    for i in range(n):
        kind, tools = i % 4, [CLIENT_TOOL] if i % 3 == 0 else None
        if kind == 0:
            name = ("alpha", "beta", "gamma")[i % 3]
            out.append((ChatRequest.of([{"role": "user", "content": POEMS[i % 4]}], name), f"named:{name}"))
        elif kind == 1:
            out.append((ChatRequest.of([{"role": "user", "content": SUMS[i % 4]}], "auto", tools), "math"))
        elif kind == 2:
            out.append((ChatRequest.of([{"role": "user", "content": POEMS[i % 4]}], "auto", tools), "learned"))
        else:
            text = TRANSLATIONS[i % 3]
            out.append((ChatRequest.of([{"role": "user", "content": text}], "router-keyword-0.5", tools),
                        "translate"))
    return out


def _check(decision: Decision, expected: str) -> None:
    if expected.startswith("named:"):
        name = expected.split(":")[1]
        assert decision == Decision("model", f"model {name} requested by name", name), decision
    elif expected == "math":
        assert (decision.kind, decision.tool, decision.model) == ("tool", "solve_math", "tool:solve_math")
        assert decision.reason.startswith("no router model → keyword math") and decision.reason.endswith(
            "→ solve_math"), decision.reason
    elif expected == "learned":
        assert decision.kind == "learned" and decision.model == "beta", decision
        assert decision.learned.ranking[0] == "beta" and set(decision.learned.ranking) == {"alpha", "beta", "gamma"}
        assert re.search(r"(keyword chat [0-9.]+ ≥ [0-9.]+|default chat) → picker: max P", decision.reason), \
            decision.reason
    else:
        assert (decision.kind, decision.capability, decision.model) == ("capability", "translation", None)
        assert decision.reason.startswith("keyword translate") and decision.reason.endswith("→ translate")
        assert "{text}" in decision.instruction and decision.instruction != "{text}"


def test_a_thousand_mixed_requests_are_decided_with_no_answering_model_loaded(engine):
    requests = _mixed(1000)
    assert {e.split(":")[0] for _, e in requests} == {"named", "math", "learned", "translate"}
    for request, expected in requests:
        decision = engine.decide(request)
        _check(decision, expected)
        with pytest.raises(dataclasses.FrozenInstanceError):
            decision.model = "other"  # type: ignore[misc]
    status = {s["name"]: s for s in engine.manager.status()}
    for name in ("alpha", "beta", "gamma"):
        assert status[name]["loads"] == 0 and status[name]["state"] != "loaded", status[name]
    assert all(slot.in_use == 0 for slot in engine.manager.slots.values())
    assert engine.metrics_snapshot()["requests"] == 0  # deciding answers nothing and counts nothing


def test_an_unknown_name_is_refused_at_decide(engine):
    from cadre.runtime.errors import UnknownModel

    with pytest.raises(UnknownModel):
        engine.decide(ChatRequest.of([{"role": "user", "content": "hi"}], "router-nano-7"))
