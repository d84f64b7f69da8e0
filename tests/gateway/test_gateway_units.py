"""The gateway's parts on their own (no models): cool-downs, the decision log's crash
tolerance and feedback checks, and the project-file shape."""
from __future__ import annotations

import json

import pytest

from cadre.runtime.gateway.decisions import DecisionLog, FeedbackError, read_log
from cadre.runtime.gateway.failover import Cooldowns


def test_k_failures_within_t_seconds_cool_a_model_down_for_c():
    now = [0.0]
    cd = Cooldowns(allowed_fails=2, window_s=10, cooldown_s=30, clock=lambda: now[0])
    assert cd.failed("a") is False
    now[0] = 11.0  # the first failure left the window
    assert cd.failed("a") is False and not cd.cooling("a")
    now[0] = 12.0
    assert cd.failed("a") is True and cd.cooling("a")
    assert cd.order(["a", "b", "c"]) == ["b", "c", "a"]  # tried last, not dropped
    now[0] = 43.0
    assert not cd.cooling("a") and cd.order(["a", "b"]) == ["a", "b"]


def test_the_log_survives_a_torn_last_line_and_checks_feedback(tmp_path):
    path = tmp_path / "runs" / "log.jsonl"
    log = DecisionLog(path, log_prompts=True)
    log.decision({"id": "req-1", "model": "m"}, "hello")
    with path.open("ab") as f:
        f.write(b'{"type": "decision", "id": "req-2", "mo')  # a crash mid-write
    reopened = DecisionLog(path)
    reopened.decision({"id": "req-3", "model": "n"}, "bye")
    assert reopened.feedback("req-3", 0.25)["model"] == "n"
    assert reopened.feedback("req-1", 1, model="other")["model"] == "other"
    with pytest.raises(FeedbackError) as unknown:
        reopened.feedback("req-2", 1)  # the torn record never became a decision
    assert unknown.value.status == 404
    for bad in (2, -1, "1", None, True, float("nan")):
        with pytest.raises(FeedbackError) as err:
            reopened.feedback("req-1", bad)
        assert err.value.status == 400 and err.value.param == "score"
    contents = read_log(path)
    assert [d["id"] for d in contents.decisions] == ["req-1", "req-3"]
    assert contents.decisions[0]["prompt"] == "hello" and "prompt" not in contents.decisions[1]
    assert len(contents.bad_lines) == 1 and len(contents.feedback) == 2
    assert all(json.loads(line) for i, line in enumerate(path.read_text().splitlines(), 1)
               if i not in contents.bad_lines)


def test_the_log_keeps_its_file_open_but_follows_a_rotation(tmp_path):
    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    log.decision({"id": "req-1", "model": "m"}, "a")
    path.rename(tmp_path / "log.1.jsonl")  # logrotate moves it away
    log.decision({"id": "req-2", "model": "m"}, "b")
    path.unlink()
    log.decision({"id": "req-3", "model": "m"}, "c")
    log.close()
    assert [d["id"] for d in read_log(tmp_path / "log.1.jsonl").decisions] == ["req-1"]
    assert [d["id"] for d in read_log(path).decisions] == ["req-3"]


def test_a_route_may_hand_its_requests_to_a_learned_router():
    from cadre.config import ProjectConfig

    models = [{"name": "p", "path": "y", "capabilities": ["primary_chat"]},
              {"name": "picker", "path": "x", "capabilities": ["intent_classification"]}]
    config = ProjectConfig(models=models, routes={"chat": {"learned": "picker"}})
    assert config.routes["chat"].learned == "picker" and config.gateway.allowed_fails == 3
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        ProjectConfig(models=models, routes={"chat": {"learned": "nope"}})
    with pytest.raises(ValueError, match="exactly one of capability, tool, model or learned"):
        ProjectConfig(models=models, routes={"chat": {"learned": "picker", "model": "p"}})
