"""Score gates end to end: a config file on disk, the Engine, and the HTTP server.

The specialist checkpoints are copies of the tiny causal model, with a scoreboard record
written into their cadre.json the way `cadre scoreboard` writes it.
"""
import json
import shutil

import pytest

from cadre.runtime.engine import Engine
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


LOSING = {"route": "code", "metric": "pass@1", "score": 0.02, "primary": "primary", "primary_score": 0.31}


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
        assert "code: specialist 0.02 < primary 0.31 pass@1 → primary" in result.reason
        assert engine.manager.slots["code"].loads == 0  # never loaded
    finally:
        engine.close()


def test_the_gate_reads_the_record_again_when_the_scoreboard_rewrites_it(tmp_path, tiny_router_dir, tiny_causal_dir):
    code_dir = _specialist(tiny_causal_dir, tmp_path / "code", LOSING)
    engine = Engine.from_config_file(_project(tmp_path, tiny_router_dir, tiny_causal_dir, code_dir))
    try:
        meta = json.loads((code_dir / "cadre.json").read_text())
        meta[SCORE_KEY] = {**LOSING, "score": 0.5}
        (code_dir / "cadre.json").write_text(json.dumps(meta))
        import os
        os.utime(code_dir / "cadre.json", (1e9, 2e9))  # a new mtime even on a coarse clock
        result = engine.generate(CODE_PROMPT, max_tokens=4)
        assert result.model in ("code", "primary")  # a degenerate tiny answer may still hand over
        assert "code: specialist 0.50 ≥ primary 0.31 pass@1 → code" in result.reason
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
        assert "code: specialist 0.02 < primary 0.31 pass@1 -> primary" in reply.headers["x-cadre-route"]
    finally:
        engine.close()
