"""`/v1/route` at 64 clients with routing in the thread pool (the default) and inline on
the event loop (`--route-inline`), for the nano ONNX router and the keyword rules; the two
servers alternate every round.

    python benchmarks/route_inline.py [--rounds 3] [--seconds 4]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import _gateway_setup as setup
from benchmarks import gateway_overhead as g
from benchmarks._loadgen import build_request, run_load
from benchmarks._report import table, write_section

MODELS = {"nano ONNX (auto)": "auto", "keyword rules": "router-keyword-0.5"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    folder = ROOT / "runs" / "bench-gateway"
    folder.mkdir(parents=True, exist_ok=True)
    procs, ports, results, loads = [], {}, {}, []
    try:
        stub = g.free_port()
        procs.append(g.start([sys.executable, "-m", "cadre.server.stub_upstream", "--port", str(stub)], stub, "/stats"))
        config = setup.nano_project(folder, f"http://127.0.0.1:{stub}/v1", setup.nano_router(folder))
        for mode, flags in (("thread pool", []), ("inline", ["--route-inline"])):
            ports[mode] = g.free_port()
            procs.append(g.start(g.cadre_cmd(config, ports[mode], 1) + flags, ports[mode], "/health"))
        for r in range(args.rounds):
            for mode in (list(ports) if r % 2 == 0 else list(ports)[::-1]):
                for label, model in MODELS.items():
                    req = build_request(ports[mode], "/v1/route", {"input": g.PROMPT, "model": model}, g.AUTH)
                    res = asyncio.run(run_load(ports[mode], req, 64, 10_000, args.seconds))
                    results.setdefault((label, mode), []).append(res)
                    loads.append(os.getloadavg()[0])
    finally:
        for proc in procs:
            proc.terminate()
    rows = [[label, mode, g.ms([r["rps"] for r in rs]), g.ms([r["p50"] for r in rs]), g.ms([r["p99"] for r in rs]),
             sum(r["errors"] for r in rs)] for (label, mode), rs in sorted(results.items())]
    body = (f"1 worker, 64 clients, {args.rounds} rounds alternating the two servers; mean ± sd over rounds. "
            f"Load average {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores.\n\n"
            + table(["router", "routing runs", "decisions/s", "p50 ms", "p99 ms", "errors"], rows))
    print(body)
    if not args.no_write:
        write_section("Routing inline or in the thread pool (issue 12)", body,
                      f"python benchmarks/route_inline.py --rounds {args.rounds} --seconds {args.seconds:g}")


if __name__ == "__main__":
    main()
