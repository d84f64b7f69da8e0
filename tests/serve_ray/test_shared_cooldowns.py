"""Upstream cool-downs shared by every ingress replica through one named Ray actor, on a
real local Ray (loopback only): one replica's failures cool the model for the others."""
from __future__ import annotations

import subprocess
import sys
import textwrap

# In its own process: Ray reads its loopback switch at import, and the test process may
# already hold another Ray.
SCRIPT = textwrap.dedent("""
    import json, time
    from types import SimpleNamespace
    from cadre.server.scale.run import connect
    from cadre.server.scale.shared import SharedCooldowns, board
    from cadre.runtime.gateway.failover import FailoverBackend
    import ray

    connect(None)
    try:
        settings = SimpleNamespace(allowed_fails=2, fail_window_s=60.0, cooldown_s=30.0)
        a = SharedCooldowns(board(settings), refresh_s=0.1)   # replica A's view
        b = SharedCooldowns(board(settings), refresh_s=0.1)   # replica B's: the same named actor
        out = {"same_actor": a.actor._actor_id == b.actor._actor_id}
        out["first"] = a.failed("upstream")
        out["b_after_one"] = b.cooling("upstream")
        out["second"] = b.failed("upstream")            # B's failure completes A's count
        deadline = time.time() + 10
        while not a.cooling("upstream") and time.time() < deadline:
            time.sleep(0.05)
        out["a_cooling"] = a.cooling("upstream")
        out["b_cooling"] = b.cooling("upstream")
        out["order"] = a.order(["upstream", "local"])
        chain = FailoverBackend(SimpleNamespace(), ["upstream", "local"], a)  # what the gateway builds
        out["chain_order"] = chain.ranking
        out["left"] = b.snapshot().get("upstream", 0)
        print(json.dumps(out))
    finally:
        ray.shutdown()
""")


def test_a_failure_seen_by_one_replica_cools_the_model_for_every_replica():
    import json

    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["same_actor"] and out["first"] is False and out["b_after_one"] is False
    assert out["second"] is True  # two failures from two replicas: the window is shared
    assert out["a_cooling"] and out["b_cooling"]
    assert out["order"] == ["local", "upstream"] and out["chain_order"] == ["local", "upstream"]
    assert 0 < out["left"] <= 30
