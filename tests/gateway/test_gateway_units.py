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
    log.decision({"id": "req-1", "model": "m", "candidates": {"m": {"label": "a"}, "other": {"label": "b"}}},
                 "hello")
    with path.open("ab") as f:
        f.write(b'{"type": "decision", "id": "req-2", "mo')  # a crash mid-write
    reopened = DecisionLog(path)  # another process (a restart, or another worker)
    reopened.decision({"id": "req-3", "model": "n"}, "bye")
    assert reopened.feedback("req-3", 0.25, token=reopened.token_for("req-3"))["model"] == "n"
    assert reopened.feedback("req-1", 1, model="other", token=log.token_for("req-1"))["model"] == "other"
    with pytest.raises(FeedbackError) as unknown:
        reopened.feedback("req-2", 1, token=log.token_for("req-2"))  # the torn record never became a decision
    assert unknown.value.status == 404 and str(tmp_path) not in str(unknown.value)
    for bad in (2, -1, "1", None, True, float("nan")):
        with pytest.raises(FeedbackError) as err:
            reopened.feedback("req-1", bad, token=log.token_for("req-1"))
        assert err.value.status == 400 and err.value.param == "score"
    contents = read_log(path)
    assert [d["id"] for d in contents.decisions] == ["req-1", "req-3"]
    assert contents.decisions[0]["prompt"] == "hello" and "prompt" not in contents.decisions[1]
    assert len(contents.bad_lines) == 1 and len(contents.feedback) == 2
    assert all(json.loads(line) for i, line in enumerate(path.read_text().splitlines(), 1)
               if i not in contents.bad_lines)
    assert log.token_for("req-1") not in path.read_text()  # only its hash is kept


def test_feedback_needs_the_token_a_candidate_and_stays_under_its_cap(tmp_path):
    from cadre.runtime.gateway.decisions import MAX_FEEDBACK_PER_ID

    log = DecisionLog(tmp_path / "log.jsonl")
    log.decision({"id": "req-1", "model": "m", "candidates": {"m": {"label": "a"}, "x": {"label": "b"}}}, "q")
    token = log.token_for("req-1")
    for bad_token, status in ((None, 400), ("", 400), ("t" * 129, 400), (log.token_for("req-2"), 403)):
        with pytest.raises(FeedbackError) as err:
            log.feedback("req-1", 1, token=bad_token)
        assert (err.value.status, err.value.param) == (status, "token")
    for model in ("gpt-5", "m" * 201, 3):
        with pytest.raises(FeedbackError) as err:
            log.feedback("req-1", 1, model=model, token=token)
        assert (err.value.status, err.value.param) == (400, "model")
    with pytest.raises(FeedbackError) as err:
        log.feedback("req-" + "1" * 100, 1, token=token)
    assert err.value.param == "id"
    for i in range(MAX_FEEDBACK_PER_ID):
        log.feedback("req-1", 0.5, model="x" if i % 2 else None, token=token)
    with pytest.raises(FeedbackError) as err:
        log.feedback("req-1", 1, token=token)
    assert (err.value.status, err.value.code) == (409, "feedback_limit")
    assert len(read_log(tmp_path / "log.jsonl").feedback) == MAX_FEEDBACK_PER_ID


def test_the_log_rotates_by_size_and_readers_see_every_file(tmp_path):
    from cadre.runtime.gateway.decisions import tail
    from cadre.runtime.gateway.logfiles import log_files

    path = tmp_path / "log.jsonl"
    log = DecisionLog(path, max_bytes=2000, keep=2)
    other = DecisionLog(path, max_bytes=2000, keep=2)  # a second worker on the same log
    for i in range(60):
        (log if i % 2 else other).decision({"id": f"req-{i}", "model": "m"}, f"prompt {i}")
    files = log_files(path)
    assert [f.name for f in files] == ["log.jsonl.2", "log.jsonl.1", "log.jsonl"]
    assert all(f.stat().st_size <= 2000 for f in files)
    ids = [d["id"] for d in read_log(path).decisions]
    assert ids == [f"req-{i}" for i in range(60 - len(ids), 60)] and 6 < len(ids) < 60  # the oldest dropped
    assert log.feedback("req-59", 1, token=log.token_for("req-59"))["id"] == "req-59"  # across processes
    assert other.feedback("req-58", 0, token=other.token_for("req-58"))["id"] == "req-58"
    recent = tail(path, 40)
    assert [d["id"] for d in recent] == ids[::-1] and recent[0]["feedback"] == 1.0


def test_the_recent_list_survives_a_huge_torn_last_line(tmp_path):
    from cadre.runtime.gateway.decisions import tail

    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    for i in range(5):
        log.decision({"id": f"req-{i}", "model": "m"}, "q")
    log.close()
    with path.open("ab") as f:
        f.write(b'{"type": "decision", "id": "req-torn", "prompt": "' + b"x" * (3 << 20))
    assert [d["id"] for d in tail(path, 3)] == ["req-4", "req-3", "req-2"]
    reopened = DecisionLog(path)
    reopened.decision({"id": "req-5", "model": "m"}, "q")
    assert [d["id"] for d in tail(path, 2)] == ["req-5", "req-4"]
    assert reopened.feedback("req-4", 1, token=log.token_for("req-4"))["id"] == "req-4"


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
