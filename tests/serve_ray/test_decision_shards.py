"""One decision log in several files: a shard per ingress replica (`decisions-<replica>.jsonl`),
each rotating by size, read by retrain, feedback and the dashboard as one log."""
from __future__ import annotations

import time

from cadre.runtime.gateway.decisions import DecisionLog, read_log, tail
from cadre.runtime.gateway.logfiles import log_files, shard_paths


def test_replica_shards_are_one_log_for_readers_and_feedback(tmp_path):
    base = tmp_path / "runs" / "decisions.jsonl"
    a, b = DecisionLog(base, shard="replica#A"), DecisionLog(base, shard="B")
    assert a.path.name == "decisions-replica_A.jsonl" and b.path.name == "decisions-B.jsonl"
    a.decision({"id": "req-a1", "model": "alpha"}, "first")
    time.sleep(0.01)
    b.decision({"id": "req-b1", "model": "beta"}, "second")
    time.sleep(0.01)
    a.decision({"id": "req-a2", "model": "alpha"}, "third")
    # feedback reaches whichever replica the client hits: B finds A's request in A's shard,
    # and the token A gave its caller checks against the hash A logged
    assert b.feedback("req-a2", 0.5, token=a.token_for("req-a2"))["model"] == "alpha"
    assert a.feedback("req-b1", 1.0, token=b.token_for("req-b1"))["model"] == "beta"
    assert not base.exists()  # nothing writes the base file itself
    contents = read_log(base)
    assert [d["id"] for d in contents.decisions] == ["req-a1", "req-b1", "req-a2"]  # time order
    assert [(f["id"], f["score"]) for f in contents.feedback] == [("req-a2", 0.5), ("req-b1", 1.0)]
    newest = tail(base, 2)
    assert [d["id"] for d in newest] == ["req-a2", "req-b1"] and newest[0]["feedback"] == 0.5


def test_a_wrong_token_is_refused_across_shards(tmp_path):
    import pytest

    from cadre.runtime.gateway.decisions import FeedbackError

    base = tmp_path / "decisions.jsonl"
    a, b = DecisionLog(base, shard="a"), DecisionLog(base, shard="b")
    a.decision({"id": "req-1", "model": "m"}, "x")
    with pytest.raises(FeedbackError) as err:
        b.feedback("req-1", 1.0, token=b.token_for("req-1"))  # B's token for A's request
    assert err.value.status == 403


def test_each_shard_rotates_and_stays_part_of_the_log(tmp_path):
    base = tmp_path / "decisions.jsonl"
    log = DecisionLog(base, shard="r1", max_bytes=600, keep=10)
    for i in range(8):
        log.decision({"id": f"req-{i}", "model": "m"}, f"prompt {i}")
        time.sleep(0.002)
    files = log_files(log.path)
    assert len(files) >= 3 and files[0].name.startswith("decisions-r1.jsonl.")  # rotated: .N ... .1, then the shard
    assert shard_paths(base) == [base, log.path]  # rotated files are not shards of their own
    assert [d["id"] for d in read_log(base).decisions] == [f"req-{i}" for i in range(8)]
    log.close()


def test_an_unsharded_log_reads_as_before(tmp_path):
    base = tmp_path / "log.jsonl"
    DecisionLog(tmp_path / "log.1.jsonl").decision({"id": "req-old", "model": "m"}, "x")  # not a shard of log.jsonl
    log = DecisionLog(base)
    log.decision({"id": "req-1", "model": "m"}, "y")
    assert [d["id"] for d in read_log(base).decisions] == ["req-1"]
