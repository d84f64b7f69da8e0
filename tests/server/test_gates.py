"""Score gates end to end: a config file on disk, the Engine, and the HTTP server.

The specialist checkpoints are copies of the tiny causal model, with a scoreboard record
written into their cadre.json the way `cadre scoreboard` writes it.
"""
import json
import shutil

import pytest

from cadre.runtime.engine import Engine
from cadre.evaluation.evidence import compare
from cadre.runtime.gates import SCORE_KEY, score_label, verdict

CODE_PROMPT = "write a python function to reverse strings"


def _specialist(src, dest, record=None):
    shutil.copytree(src, dest)
    if record is not None:
        meta = json.loads((dest / "cadre.json").read_text())
        meta[SCORE_KEY] = record
        (dest / "cadre.json").write_text(json.dumps(meta))
    return dest


def _project(tmp_path, router_dir, primary_dir, code_dir, force=False):
    path = tmp_path / "cadre.yaml"
    path.write_text(f"""\
version: 1
runtime: {{memory_budget: 1GB}}
router: {{model: router}}
models:
  - {{name: primary, path: "{primary_dir}", capabilities: [primary_chat]}}
  - {{name: router, backend: onnx, path: "{router_dir}", capabilities: [intent_classification]}}
  - {{name: code, path: "{code_dir}", capabilities: [code_generation], force: {str(force).lower()}}}
""")
    return path


def _record(specialist_scores, primary_scores):
    """A scoreboard record as `cadre scoreboard` writes it: means and the paired evidence."""
    ev = compare(specialist_scores, primary_scores)
    return {"route": "code", "metric": "pass@1", "score": round(ev["specialist"], 4), "primary": "primary",
            "primary_score": round(ev["primary"], 4), "examples": ev["n"], "evidence": ev}


LOSING = _record([1.0] * 2 + [0.0] * 98, [1.0] * 31 + [0.0] * 69)   # 0.02 vs 0.31
# 4 wins of 6 by a hair (and 2 small losses): a higher mean, but no confidence
HAIR = _record([0.51, 0.51, 0.51, 0.51, 0.49, 0.49], [0.50] * 6)
CLEAR = _record([1.0] * 40 + [0.0] * 20, [1.0] * 15 + [0.0] * 45)  # 0.67 vs 0.25 on 60 examples


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


def test_a_specialist_that_loses_its_row_hands_the_route_to_the_primary(tmp_path, tiny_router_dir, tiny_causal_dir):
    code_dir = _specialist(tiny_causal_dir, tmp_path / "code", LOSING)
    engine = Engine.from_config_file(_project(tmp_path, tiny_router_dir, tiny_causal_dir, code_dir))
    try:
        result = engine.generate(CODE_PROMPT, max_tokens=4)
        assert result.route.name == "code" and result.model == "primary"
        assert "code: specialist − primary ≥ -0.3" in result.reason and result.reason.endswith("→ primary)")
        assert "(95%; 0.02 vs 0.31 pass@1, n=100)" in result.reason
        assert engine.manager.slots["code"].loads == 0  # never loaded
    finally:
        engine.close()


def test_the_gate_reads_the_record_again_when_the_scoreboard_rewrites_it(tmp_path, tiny_router_dir, tiny_causal_dir):
    code_dir = _specialist(tiny_causal_dir, tmp_path / "code", LOSING)
    engine = Engine.from_config_file(_project(tmp_path, tiny_router_dir, tiny_causal_dir, code_dir))
    try:
        meta = json.loads((code_dir / "cadre.json").read_text())
        meta[SCORE_KEY] = CLEAR
        (code_dir / "cadre.json").write_text(json.dumps(meta))
        import os
        os.utime(code_dir / "cadre.json", (1e9, 2e9))  # a new mtime even on a coarse clock
        result = engine.generate(CODE_PROMPT, max_tokens=4)
        assert result.model in ("code", "primary")  # a degenerate tiny answer may still hand over
        assert "code: specialist − primary ≥ +0.3" in result.reason and "→ code serves" in result.reason
    finally:
        engine.close()


def test_unscored_goes_to_the_primary_unless_forced(tmp_path, tiny_router_dir, tiny_causal_dir):
    code_dir = _specialist(tiny_causal_dir, tmp_path / "code")
    spec_engine = Engine.from_config_file(_project(tmp_path, tiny_router_dir, tiny_causal_dir, code_dir))
    try:
        result = spec_engine.generate(CODE_PROMPT, max_tokens=4)
        assert result.model == "primary" and "code: specialist unscored (run cadre scoreboard) → primary" in result.reason
        assert score_label(spec_engine.registry.get("code"), "primary") == "unscored"
    finally:
        spec_engine.close()
    forced = Engine.from_config_file(_project(tmp_path, tiny_router_dir, tiny_causal_dir, code_dir, force=True))
    try:
        assert verdict(forced.registry.get("code"), "primary").allowed
        handle = forced.chat_stream([{"role": "user", "content": CODE_PROMPT}], max_tokens=3)
        assert handle.model == "code" and "forced" in handle.reason
        "".join(handle.deltas)
    finally:
        forced.close()


def test_the_server_reports_the_fallback_with_both_scores(tmp_path, tiny_router_dir, tiny_causal_dir, live_server):
    import httpx

    from cadre.server.app import create_app
    from cadre.server.settings import ServerSettings

    code_dir = _specialist(tiny_causal_dir, tmp_path / "code", LOSING)
    engine = Engine.from_config_file(_project(tmp_path, tiny_router_dir, tiny_causal_dir, code_dir))
    try:
        server = live_server(create_app(engine, ServerSettings()))
        reply = httpx.post(f"{server.base}/v1/chat/completions", timeout=60, json={
            "model": "auto", "max_tokens": 4, "messages": [{"role": "user", "content": CODE_PROMPT}]})
        assert reply.status_code == 200 and reply.json()["model"] == "primary"
        route = reply.headers["x-cadre-route"]
        assert "code: specialist" in route and "0.02 vs 0.31 pass@1" in route and route.endswith("-> primary)")
    finally:
        engine.close()


def test_a_win_by_a_hair_on_4_of_6_does_not_serve_and_a_clear_win_does(tmp_path, tiny_causal_dir):
    """The gate is the 95% lower bound of the paired difference, not the higher mean."""
    assert HAIR["score"] > HAIR["primary_score"] and HAIR["evidence"]["wins"] == 4
    hair_dir = _specialist(tiny_causal_dir, tmp_path / "hair", HAIR)
    clear_dir = _specialist(tiny_causal_dir, tmp_path / "clear", CLEAR)
    hair = verdict(_Entry("code", str(hair_dir)), "primary")
    assert not hair.allowed and hair.reason.endswith("→ primary")
    assert "code: specialist − primary ≥ -0.0" in hair.reason and "(95%;" in hair.reason
    clear = verdict(_Entry("code", str(clear_dir)), "primary")
    assert clear.allowed and clear.reason.startswith("code: specialist − primary ≥ +0.")
    assert clear.reason.endswith("→ code serves")
    assert "Δ≥+0." in score_label(_Entry("code", str(clear_dir)), "primary")


def test_no_sample_size_lets_a_loser_serve_and_old_records_without_evidence_do_not_serve(tmp_path, tiny_causal_dir):
    big_loser = _record([1.0] * 4900 + [0.0] * 5100, [1.0] * 5000 + [0.0] * 5000)   # 0.49 vs 0.50, n=10,000
    loser_dir = _specialist(tiny_causal_dir, tmp_path / "loser", big_loser)
    assert not verdict(_Entry("code", str(loser_dir)), "primary").allowed
    legacy = {k: v for k, v in CLEAR.items() if k != "evidence"}  # a mean-only record of an older cadre
    legacy_dir = _specialist(tiny_causal_dir, tmp_path / "legacy", legacy)
    got = verdict(_Entry("code", str(legacy_dir)), "primary")
    assert not got.allowed and "no paired evidence" in got.reason
    assert verdict(_Entry("code", str(legacy_dir), force=True), "primary").allowed


class _Entry:
    """The registry fields the gate reads."""

    def __init__(self, name, path, force=False):
        self.name, self.path, self.force, self.backend = name, path, force, "local"
