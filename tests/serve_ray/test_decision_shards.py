"""One decision log in several files: a shard per ingress replica (`decisions-<replica>.jsonl`)
and rotated files, read by retrain, feedback and the dashboard as one log."""
from __future__ import annotations

import time

from cadre.runtime.gateway.decisions import DecisionLog, read_log, shard_paths, tail


def test_replica_shards_are_one_log_for_readers_and_feedback(tmp_path):
    base = tmp_path / "runs" / "decisions.jsonl"
    a, b = DecisionLog(base, shard="replica#A"), DecisionLog(base, shard="B")
    assert a.path.name == "decisions-replica_A.jsonl" and b.path.name == "decisions-B.jsonl"
    a.decision({"id": "req-a1", "model": "alpha"}, "first")
    time.sleep(0.01)
    b.decision({"id": "req-b1", "model": "beta"}, "second")
    time.sleep(0.01)
    a.decision({"id": "req-a2", "model": "alpha"}, "third")
    # feedback reaches whichever replica the client hits: B knows A's request by reading A's shard
    assert b.feedback("req-a2", 0.5)["model"] == "alpha"
    assert a.feedback("req-b1", 1.0)["model"] == "beta"
    assert not base.exists()  # nothing writes the base file itself
    contents = read_log(base)
    assert [d["id"] for d in contents.decisions] == ["req-a1", "req-b1", "req-a2"]  # time order
    assert [(f["id"], f["score"]) for f in contents.feedback] == [("req-a2", 0.5), ("req-b1", 1.0)]
    newest = tail(base, 2)
    assert [d["id"] for d in newest] == ["req-a2", "req-b1"] and newest[0]["feedback"] == 0.5


def test_a_full_file_rotates_and_stays_part_of_the_log(tmp_path):
    base = tmp_path / "decisions.jsonl"
    log = DecisionLog(base, shard="r1", max_bytes=400)
    for i in range(6):
        log.decision({"id": f"req-{i}", "model": "m"}, f"prompt {i}")
        time.sleep(0.002)
    assert log.rotations >= 2
    files = shard_paths(base)
    assert len(files) == log.rotations + 1 and all(f.stat().st_size <= 400 for f in files)
    assert [d["id"] for d in read_log(base).decisions] == [f"req-{i}" for i in range(6)]
    assert log.feedback("req-0", 1)["model"] == "m"  # an id from a rotated file is still known
    log.close()


def test_an_unsharded_log_reads_as_before(tmp_path):
    base = tmp_path / "log.jsonl"
    other = tmp_path / "log.1.jsonl"  # a name logrotate might pick is not a shard of log.jsonl
    DecisionLog(other).decision({"id": "req-old", "model": "m"}, "x")
    log = DecisionLog(base)
    log.decision({"id": "req-1", "model": "m"}, "y")
    assert [d["id"] for d in read_log(base).decisions] == ["req-1"]
