"""Single-process `cadre serve` against `cadre serve --ray` with 1 and 2 ingress replicas,
side by side in front of one fast stub upstream on loopback (so the figures are the
serving path, not a model): the stub called directly, then each server with the same
project. Runs alternate (the order rotates every round); per target: added p50/p99 over
the direct call and requests/s, at 1 client and at 64, with the load average.

    python benchmarks/serve_ray.py [--rounds 3] [--requests 300] [--no-write]

Each embedded Ray takes a minute or so to start on a small machine; every server and Ray
stops at the end (or on an error). A 2-core machine bounds what a second replica can add:
the table's last line gives the requests/s ratio per added replica.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._loadgen import build_request, run_load  # noqa: E402
from benchmarks._report import table, write_section  # noqa: E402

CHAT = "/v1/chat/completions"
PROMPT = "hello there, how are you today?"
KEY = "sk-bench-0123456789abcdef0123456789abcdef"
AUTH = {"authorization": f"Bearer {KEY}"}
SERVERS = {"cadre serve": None, "--ray, 1 ingress": 1, "--ray, 2 ingress": 2}  # name → ingress replicas


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project(folder: Path, url: str, replicas: int | None) -> Path:
    """The upstream stub as the primary; `replicas` ingress replicas under --ray."""
    scale = f"scale: {{ingress: {{replicas: {replicas}, max_ongoing_requests: 256}}}}\n" if replicas else ""
    path = folder / f"cadre-{replicas or 'single'}.yaml"
    path.write_text("version: 1\nruntime: {memory_budget: 2GB, max_concurrent: 256, max_queue: 256}\n"
                    "gateway: {decision_log: null}\n" + scale + "models:\n"
                    f"  - {{name: stub, backend: openai, url: \"{url}\", capabilities: [primary_chat], "
                    "options: {model: stub}, pinned: true}\n")
    return path


def start(cmd: list[str], port: int, ready, wait_s: float = 400) -> subprocess.Popen:
    """A server process, returned once `ready()` is true."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[2:6]} exited with {proc.returncode}: {proc.stdout.read()[-2000:]}")
        if ready(proc):
            return proc
        time.sleep(0.5)
    stop(proc)
    raise SystemExit(f"{cmd[2:6]} did not start within {wait_s:g}s")


def answers(port: int) -> bool:
    try:
        reply = httpx.post(f"http://127.0.0.1:{port}{CHAT}", headers=AUTH, timeout=10,
                           json={"model": "stub", "messages": [{"role": "user", "content": "hi"}]})
        return reply.status_code == 200
    except httpx.HTTPError:
        return False


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM (cadre serve --ray then shuts Serve and its Ray down), SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def stand_up(folder: Path, procs: list) -> dict[str, int]:
    """The stub and the three servers (into `procs`); returns target → port."""
    ports = {"direct": free_port()}
    procs.append(start([sys.executable, "-m", "cadre.server.stub_upstream", "--port", str(ports["direct"])],
                       ports["direct"], lambda p: _stub_up(ports["direct"])))
    url = f"http://127.0.0.1:{ports['direct']}/v1"
    for name, replicas in SERVERS.items():
        ports[name] = free_port()
        cmd = [sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(project(folder, url, replicas)),
               "--port", str(ports[name]), "--log-level", "warning", "--max-in-flight", "4096", "--api-key", KEY]
        procs.append(start(cmd + (["--ray"] if replicas else []), ports[name], lambda p, n=name: answers(ports[n])))
        print(f"{name}: up on {ports[name]}", flush=True)
    return ports


def _stub_up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/stats", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def levels(requests: int) -> dict[str, tuple[int, int, float]]:
    """Level → (clients, requests per client, seconds cap)."""
    return {"1 client": (1, requests, 30.0), "64 clients": (64, max(1, requests // 8), 10.0)}


async def one_round(ports: dict, order: list[str], requests: int, results: dict, loads: list) -> None:
    for level, (clients, per_client, seconds) in levels(requests).items():
        for name in order:
            body = {"model": "stub", "messages": [{"role": "user", "content": PROMPT}]}
            res = await run_load(ports[name], build_request(ports[name], CHAT, body, AUTH), clients, per_client, seconds)
            results.setdefault((level, name), []).append(res)
            loads.append(os.getloadavg()[0])


def ms(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    return f"{values[0]:.2f}" if len(values) == 1 else f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def added(results: dict, level: str, name: str, key: str) -> list:
    """Per round: the target's figure minus the direct call's in the same round."""
    return [a[key] - b[key] for a, b in zip(results[(level, name)], results[(level, "direct")])
            if a[key] is not None and b[key] is not None]


def report(results: dict, names: list[str], args, loads: list) -> str:
    rows = {}
    for level in levels(args.requests):
        rows[level] = [[n, ms([r["rps"] for r in results[(level, n)]]),
                        ms([r["p50"] for r in results[(level, n)]]), ms([r["p99"] for r in results[(level, n)]]),
                        "–" if n == "direct" else ms(added(results, level, n, "p50")),
                        "–" if n == "direct" else ms(added(results, level, n, "p99")),
                        sum(r["errors"] for r in results[(level, n)])] for n in names]
    rps = {n: statistics.mean(r["rps"] for r in results[("64 clients", n)]) for n in names}
    one, two = rps["--ray, 1 ingress"], rps["--ray, 2 ingress"]
    ratio = f"{two / one:.2f}" if one else "–"
    headers = ["target", "req/s", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "errors"]
    return "\n\n".join([
        f"Rounds: {args.rounds}, the order of the targets rotating each round; up to {args.requests} requests "
        f"at 1 client and {max(1, args.requests // 8)} per client at 64 clients per run; figures are mean ± sd "
        f"over rounds. Load average (1 min) during the runs {min(loads):.1f}–{max(loads):.1f} on "
        f"{os.cpu_count()} cores; every replica and Ray's own processes share them, so a second ingress "
        "replica has little CPU to add here.",
        "**1 client** (added = the target minus the direct call in the same round)",
        table(headers, rows["1 client"]),
        "**64 concurrent clients**",
        table(headers, rows["64 clients"]),
        f"Requests/s at 64 clients, 2 ingress replicas over 1: **{ratio}** per added replica "
        f"(--ray 1 ingress vs single process: {one / rps['cadre serve']:.2f}).",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300, help="Requests per run at 1 client (64 clients: 1/8 each).")
    parser.add_argument("--folder", default=str(ROOT / "runs" / "bench-serve-ray"))
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    procs: list = []
    try:
        ports = stand_up(folder, procs)
        names, results, loads = ["direct", *SERVERS], {}, [os.getloadavg()[0]]
        asyncio.run(one_round(ports, names, max(10, args.requests // 10), {}, []))  # warm-up, not recorded
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            asyncio.run(one_round(ports, order, args.requests, results, loads))
            print(f"round {r + 1}/{args.rounds} done", flush=True)
    finally:
        for proc in reversed(procs):
            stop(proc)
    body = report(results, names, args, loads)
    print(body)
    if not args.no_write:
        write_section("Serving on Ray Serve", body,
                      f"python benchmarks/serve_ray.py --rounds {args.rounds} --requests {args.requests}")


if __name__ == "__main__":
    main()
