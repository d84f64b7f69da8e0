"""What a gateway adds to every call, side by side against one fast stub upstream on
loopback: the stub called directly; cadre with a named model; cadre with model=auto
(nano router); cadre with a learned router; and the LiteLLM proxy configured with the
same stub. Runs alternate (the order rotates every round) and each load level gets one
run per round; figures are the mean and spread over rounds.

    python benchmarks/gateway_overhead.py [--rounds 3] [--workers 1] [--litellm .bench-venv/bin/litellm]
    python benchmarks/gateway_overhead.py --compare-tree ../base-a3f58a5 [--rounds 5]

`--compare-tree DIR` runs another checkout of cadre (e.g. `git worktree add DIR a3f58a5`)
beside this one, against the same stub and the same router folders, alternating in one
run: the added p50 of a named model, the nano router and the learned router (1 client),
and `/v1/route` decisions per second (64 clients), old against new (benchmarks/_tree_compare.py).

LiteLLM lives in its own environment (`pip install -e '.[bench]'` in a separate venv, or
`python -m venv .bench-venv && .bench-venv/bin/pip install 'litellm[proxy]==1.105.7'`), so its
dependencies never touch cadre's. Every loop is bounded; the script stops by itself.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import _gateway_setup as setup
from benchmarks._loadgen import build_request, run_load
from benchmarks._report import table, write_section

CHAT = "/v1/chat/completions"
PROMPT = "hello there, how are you today?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, health: str, env: dict | None = None, wait_s: float = 180,
          cwd: Path = ROOT):
    """A server process; returns once `health` answers 200 (or any HTTP status for LiteLLM)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[:4]} exited with {proc.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}{health}", timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"{cmd[:4]} did not start within {wait_s:g}s")


def cadre_cmd(config: Path, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config), "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", "--api-key", setup.KEY]  # default limits


def stand_up(args, folder: Path, procs: list) -> dict:
    """Start the stub, two cadre servers and LiteLLM (into `procs`, so a failure midway still
    stops the ones started); returns server → port."""
    ports = {}
    ports["stub"] = free_port()
    procs.append(start([sys.executable, "-m", "cadre.server.stub_upstream", "--port", str(ports["stub"])],
                       ports["stub"], "/stats"))
    url = f"http://127.0.0.1:{ports['stub']}/v1"
    nano = setup.nano_project(folder, url, setup.nano_router(folder))
    learned = setup.learned_project(folder, url, setup.learned_router(folder))
    for name, config in (("cadre-nano", nano), ("cadre-learned", learned)):
        ports[name] = free_port()
        procs.append(start(cadre_cmd(config, ports[name], args.workers), ports[name], "/health"))
    if args.litellm and Path(args.litellm).exists():
        ports["litellm"] = free_port()
        cfg = setup.litellm_config(folder, url)
        procs.append(start([args.litellm, "--config", str(cfg), "--port", str(ports["litellm"]),
                            "--num_workers", str(args.workers)], ports["litellm"], "/health/liveliness",
                           env={"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}, wait_s=420))
    else:
        print(f"note: LiteLLM left out ({args.litellm} not found)", flush=True)
    return ports


def targets(ports: dict) -> dict[str, tuple[int, str]]:
    """Target name → (port, model asked for)."""
    out = {"direct": (ports["stub"], "stub"), "cadre named": (ports["cadre-nano"], "stub"),
           "cadre auto (nano)": (ports["cadre-nano"], "auto"), "cadre auto (learned)": (ports["cadre-learned"], "auto")}
    if "litellm" in ports:
        out["LiteLLM proxy"] = (ports["litellm"], "stub")
    return out


AUTH = {"authorization": f"Bearer {setup.KEY}"}  # the stub ignores it; both gateways check it


def chat_request(port: int, model: str, stream: bool) -> bytes:
    return build_request(port, CHAT, {"model": model, "stream": stream,
                                      "messages": [{"role": "user", "content": PROMPT}]}, AUTH)


LEVELS = {  # name → (clients, requests per client, seconds cap, stream)
    "1 client": (1, 300, 20.0, False),
    "64 clients": (64, 10_000, 5.0, False),
    "stream, 1 client": (1, 150, 20.0, True),
}


async def one_round(tgts: dict, ports: dict, order: list[str], results: dict, loads: list) -> None:
    for level, (clients, per_client, seconds, stream) in LEVELS.items():
        for name in order:
            port, model = tgts[name]
            request = chat_request(port, model, stream)
            res = await run_load(port, request, clients, per_client, seconds, b"Hello" if stream else None)
            results.setdefault((level, name), []).append(res)
            loads.append(os.getloadavg()[0])
    for name in ("cadre-nano", "cadre-learned"):
        request = build_request(ports[name], "/v1/route", {"input": PROMPT}, AUTH)
        res = await run_load(ports[name], request, 64, 10_000, 5.0)
        results.setdefault(("route", name), []).append(res)


async def warm_up(tgts: dict, ports: dict) -> None:
    for port, model in tgts.values():
        await run_load(port, chat_request(port, model, False), 4, 25, 30.0)
        await run_load(port, chat_request(port, model, True), 1, 10, 30.0)
    for name in ("cadre-nano", "cadre-learned"):
        await run_load(ports[name], build_request(ports[name], "/v1/route", {"input": PROMPT}, AUTH), 4, 25, 30.0)


def ms(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def added(results: dict, level: str, name: str, key: str) -> list:
    """Per round: the target's figure minus the direct call's in the same round."""
    return [a[key] - b[key] for a, b in zip(results[(level, name)], results[(level, "direct")])
            if a[key] is not None and b[key] is not None]


def report(results: dict, tgts: dict, args, loads: list) -> str:
    names = list(tgts)
    one = [[n, ms([r["p50"] for r in results[("1 client", n)]]), ms([r["p99"] for r in results[("1 client", n)]]),
            "–" if n == "direct" else ms(added(results, "1 client", n, "p50")),
            "–" if n == "direct" else ms(added(results, "1 client", n, "p99")),
            ms([r["overhead_p50"] for r in results[("1 client", n)]])] for n in names]
    many = [[n, ms([r["rps"] for r in results[("64 clients", n)]]), ms([r["p50"] for r in results[("64 clients", n)]]),
             ms([r["p99"] for r in results[("64 clients", n)]]),
             "–" if n == "direct" else ms(added(results, "64 clients", n, "p50")),
             sum(r["errors"] for r in results[("64 clients", n)]),
             sum(r["too_many"] for r in results[("64 clients", n)])] for n in names]
    stream = [[n, ms([r["ttfb_p50"] for r in results[("stream, 1 client", n)]]),
               ms([r["ttfb_p99"] for r in results[("stream, 1 client", n)]]),
               "–" if n == "direct" else ms(added(results, "stream, 1 client", n, "ttfb_p50"))] for n in names]
    route = [[n, ms([r["rps"] for r in results[("route", n)]]), ms([r["p50"] for r in results[("route", n)]]),
              ms([r["p99"] for r in results[("route", n)]]), sum(r["errors"] for r in results[("route", n)])]
             for n in ("cadre-nano", "cadre-learned")]
    return "\n\n".join([
        f"Workers: {args.workers} per server (cadre and LiteLLM alike). Rounds: {args.rounds}, the order of the "
        f"targets rotating each round; figures are mean ± sd over rounds. Load average (1 min) during the runs "
        f"{min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores (above about 2, absolute figures are "
        f"inflated and noisy); the comparison is side by side.",
        "**1 client, whole answers** (ms; added = the target minus the direct call in the same round)",
        table(["target", "p50", "p99", "added p50", "added p99", "x-cadre-overhead-ms p50"], one),
        "**64 concurrent clients, whole answers** (the projects use cadre's default limits)",
        table(["target", "req/s", "p50 ms", "p99 ms", "added p50 ms", "errors", "of them 429"], many),
        "**Streaming, 1 client: time to the first content byte** (ms)",
        table(["target", "TTFB p50", "TTFB p99", "added TTFB p50"], stream),
        "**`/v1/route` at 64 clients** (decisions only)",
        table(["server", "decisions/s", "p50 ms", "p99 ms", "errors"], route)])


def run_rounds(args, folder: Path, stand, make_targets, warm, one) -> tuple[dict, dict, list]:
    """Start the servers, warm them up, run the rounds (the targets' order rotating each
    round), stop the servers however it ends; (targets, results, load averages)."""
    procs: list = []
    try:
        ports = stand(args, folder, procs)
        tgts, results, loads = make_targets(ports), {}, [os.getloadavg()[0]]
        asyncio.run(warm(tgts, ports))
        names = list(tgts)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            asyncio.run(one(tgts, ports, order, results, loads))
            print(f"round {r + 1}/{args.rounds} done (load {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return tgts, results, loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--litellm", default=str(ROOT / ".bench-venv" / "bin" / "litellm"))
    parser.add_argument("--folder", default=str(ROOT / "runs" / "bench-gateway"))
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    parser.add_argument("--compare-tree", default=None,
                        help="Another cadre checkout to run old against new (benchmarks/_tree_compare.py).")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    if args.compare_tree:
        from benchmarks import _tree_compare

        return _tree_compare.main(args, folder)
    tgts, results, loads = run_rounds(args, folder, stand_up, targets, warm_up, one_round)
    body = report(results, tgts, args, loads)
    print(body)
    if not args.no_write:
        command = (f"python benchmarks/gateway_overhead.py --rounds {args.rounds} --workers {args.workers}")
        write_section(f"Gateway overhead, {args.workers} worker{'s' * (args.workers > 1)} (issue 12)", body, command)


if __name__ == "__main__":
    main()
