"""The embedded Ray instance listens on loopback only (issue 23, item 4).

Ray has no authentication: anyone who reaches its GCS, raylet or a worker can run code as
the user. `cadre fleet run` and `cadre router collect --ray` without an address start a
local instance through `cadre.fleet.cluster.connect`; while a task runs on it, every
socket that any of its processes listens on (TCP) or binds (UDP) must be in 127.0.0.0/8
or ::1, never `0.0.0.0`, `::` or the machine's own address.
"""
from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fleet.conftest import spec_dict

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")
ROOT = Path(__file__).resolve().parents[2]


def is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is IPv4 loopback
    return address.is_loopback


def open_sockets(root_pid: int) -> set[tuple[str, str, int]]:
    """(process name, address, port) of every listening TCP or bound UDP socket of the tree."""
    try:
        root = psutil.Process(root_pid)
        tree = {p.pid: p for p in [root, *root.children(recursive=True)]}
    except psutil.NoSuchProcess:
        return set()
    found = set()
    for conn in psutil.net_connections(kind="inet"):
        listening = conn.status == psutil.CONN_LISTEN or (conn.type == socket.SOCK_DGRAM and conn.laddr)
        if conn.pid in tree and listening:
            try:
                name = tree[conn.pid].name()
            except psutil.NoSuchProcess:
                continue
            found.add((name, conn.laddr.ip, conn.laddr.port))
    return found


def sample_for(root_pid: int, seconds: float) -> set[tuple[str, str, int]]:
    """Sockets seen over `seconds` (Ray starts some agents a little after init)."""
    seen: set[tuple[str, str, int]] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen |= open_sockets(root_pid)
        time.sleep(0.25)
    return seen


def test_embedded_ray_listens_only_on_loopback():
    from cadre.fleet.cluster import connect

    constants = ray._private.ray_constants
    before = (constants.ENABLE_RAY_CLUSTER, os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"))
    with connect(None, num_cpus=1):
        @ray.remote
        def busy(seconds):
            time.sleep(seconds)
            return os.getpid()

        running = busy.remote(3)
        seen = sample_for(os.getpid(), 3)
        worker = ray.get(running)
    names = {name for name, _, _ in seen}
    assert {"gcs_server", "raylet"} <= names, f"the probe saw no Ray service: {sorted(seen)}"
    assert worker != os.getpid()  # the task ran in a Ray worker, while the sockets were sampled
    outside = sorted(s for s in seen if not is_loopback(s[1]))
    assert not outside, f"Ray listens outside loopback: {outside}"
    # the switch is put back: a later `--ray ADDRESS` in this process joins a real cluster as before
    assert (constants.ENABLE_RAY_CLUSTER, os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")) == before


@pytest.mark.slow
def test_while_a_fleet_task_runs_no_ray_process_listens_outside_loopback(tmp_path, tiny_base, sentiment_csv):
    """The real `cadre fleet run` command, sampled while its specialist trains."""
    import yaml

    data, catalog = tmp_path / "data", tmp_path / "catalog"
    data.mkdir()
    catalog.mkdir()
    sentiment_csv(data / "train.csv", 64, 1)
    sentiment_csv(data / "test.csv", 20, 2)
    spec = spec_dict("slow", tiny_base, data)
    spec["training"].update(max_steps=60)
    (catalog / "slow.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "fleet"
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "fleet", "run", "slow", "--catalog",
                             str(catalog), "--output", str(out), "--cpus", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    try:
        attempts = out / "slow" / "attempts.jsonl"
        deadline = time.monotonic() + 300
        while not (attempts.is_file() and attempts.read_text().strip()):
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "the fleet task never started"
            time.sleep(0.2)
        assert json.loads(attempts.read_text().splitlines()[0])["pid"]
        seen = sample_for(proc.pid, 4)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    assert {"gcs_server", "raylet"} <= {name for name, _, _ in seen}, sorted(seen)
    outside = sorted(s for s in seen if not is_loopback(s[1]))
    assert not outside, f"Ray listens outside loopback during a fleet run: {outside}"
