"""The gateway in-process (real engine, real stub upstreams over HTTP): label mapping and
its start-up error, intent routing composed with learned routing, and `cadre router
retrain` through the CLI on a log filled by real requests and feedback."""
from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner


def _load_helpers():
    """This folder's conftest.py as a module (tests is not a package; import-mode=importlib)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("gateway_helpers", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


h = _load_helpers()


def _engine(tmp_path, text):
    from cadre.runtime.engine import Engine

    path = tmp_path / "cadre.yaml"
    path.write_text(text)
    return Engine.from_config_file(path)


def test_labels_map_to_registry_models_and_an_unmapped_label_is_a_one_line_error(tmp_path, learned_dir, healthy):
    from cadre.cli.main import app

    names = {"alpha": "cheap-llm", "beta": "mid-llm", "gamma": "dear-llm"}
    text = h.project_yaml(learned_dir, healthy, labels=names)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["serve", "--config", str(path), "--port", "0"])
    assert result.exit_code == 2 and "label(s) ['alpha', 'beta', 'gamma'] name no registry model" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    mapped = text.replace("router: {model: picker}", "router: {model: picker, labels: "
                          + json.dumps(names) + "}")
    engine = _engine(tmp_path, mapped)
    try:
        answer = engine.chat([{"role": "user", "content": h.MATH_PROMPT}])
        assert answer.model == "cheap-llm" and answer.text == "alpha: ok"
    finally:
        engine.close()


def test_an_intent_route_hands_chat_to_a_learned_router(tmp_path, learned_dir, healthy):
    text = h.project_yaml(learned_dir, healthy, router="{keyword_fallback: true}",
                          routes="routes: {chat: {learned: picker}}")
    engine = _engine(tmp_path, text)
    try:
        chat = engine.chat([{"role": "user", "content": h.OTHER_PROMPT}])
        assert chat.model == "beta" and "chat 1.00 ≥ 0.00 → picker: max P" in chat.reason
        math = engine.chat([{"role": "user", "content": "what is 12 times 3?"}])
        assert math.model == "tool:solve_math" and "36" in math.text  # keyword rules → sympy
    finally:
        engine.close()


def test_malformed_and_refusing_upstreams_fail_over_and_cool_down(tmp_path, learned_dir, healthy):
    from cadre.runtime.errors import BackendError

    gateway = "allowed_fails: 2, fail_window_s: 60, cooldown_s: 300, decision_log: null"
    engine = _engine(tmp_path, h.project_yaml(learned_dir, healthy, gateway))
    ask = [{"role": "user", "content": h.MATH_PROMPT}]
    try:
        healthy["alpha"].mode = "malformed"
        handle = engine.chat_stream(ask)
        text = "".join(handle.deltas)
        assert handle.model != "alpha" and text == f"{handle.model}: ok"
        assert "alpha failed" in handle.reason and "sent no stream events" in handle.reason
        healthy["alpha"].stop()  # second failure: a refused connection; alpha cools down
        second = engine.chat(ask)
        assert second.model != "alpha" and "refused the connection" in second.reason
        assert engine.gateway.cooldowns.cooling("alpha")
        snap = engine.metrics_snapshot()  # what /metrics shows as cadre_engine_count{kind=...}
        assert snap["gateway_fallbacks"] == 2 and snap["gateway_cooldowns_started"] == 1
        assert snap["gateway_models_cooling"] == 1
        third = engine.chat(ask)
        assert "failed" not in third.reason  # alpha is tried last now
        for stub in healthy.values():
            stub.mode = "500"
        with pytest.raises(BackendError, match="no candidate model could answer"):
            engine.chat(ask)
    finally:
        engine.close()


@pytest.mark.slow  # about 45 s: two CLI processes and a refit
def test_retrain_from_logged_feedback_is_gated_and_reported(tmp_path, learned_dir, train_table, healthy):
    from cadre.data.routing_tables import read_routing_table

    gateway = "decision_log: log.jsonl"
    engine = _engine(tmp_path, h.project_yaml(learned_dir, healthy, gateway))
    table = read_routing_table(train_table)
    try:
        for row in table.rows[32:48]:  # the second half's outcomes come back as feedback
            answer = engine.chat([{"role": "user", "content": row.prompt}], max_tokens=4)
            score = row.scores[answer.model]
            engine.gateway.log.feedback(answer.request_id, score, token=answer.feedback_token)
    finally:
        engine.close()
    log = tmp_path / "log.jsonl"
    with log.open("ab") as f:
        f.write(b'{"type": "feedback", "id": "req-')  # a torn last line
    out = subprocess.run(h.cadre_cmd("router", "retrain", "--log", str(log), "--table", str(train_table),
                                     "--current", str(learned_dir), "--output", str(tmp_path / "new"), "--json"),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode in (0, 1), out.stderr
    report = json.loads(out.stdout)
    assert report["feedback"]["feedback"] == 16 and report["feedback"]["bad_lines"] == 1
    assert report["feedback"]["used"] + report["feedback"]["dropped_on_held_out_prompts"] == 16
    gate = report["gate"]
    assert gate["promoted"] == (out.returncode == 0) == (tmp_path / "new" / "cadre.json").is_file()
    assert "accuracy at the current cost" in gate["reason"] and "AIQ" in gate["reason"]
    bad = subprocess.run(h.cadre_cmd("router", "retrain", "--log", str(tmp_path / "nope.jsonl"), "--table",
                                     str(train_table), "--current", str(learned_dir), "--output",
                                     str(tmp_path / "x")), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "decision log not found" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr


def test_an_upstream_failing_on_the_async_path_is_logged_as_an_error(tmp_path, learned_dir, healthy):
    import asyncio

    log = tmp_path / "decisions.jsonl"
    text = h.project_yaml(learned_dir, healthy, f"decision_log: '{log}'", router="{keyword_fallback: true}",
                          routes="routes: {chat: {model: alpha}}")
    text = "".join(line for line in text.splitlines(True) if "name: picker" not in line)  # keyword rules only
    engine = _engine(tmp_path, text)
    try:
        healthy["alpha"].mode = "500"
        handle = engine.chat_stream([{"role": "user", "content": h.OTHER_PROMPT}])
        assert handle.model == "alpha" and handle.awhole is not None, handle.reason  # on the server loop
        with pytest.raises(Exception):
            asyncio.run(handle.awhole())
        del handle  # the release records the decision
        import gc

        gc.collect()
        last = json.loads(log.read_text().splitlines()[-1])
        assert last["model"] == "alpha" and last["status"] == "error" and "500" in last["error"]
    finally:
        engine.close()
