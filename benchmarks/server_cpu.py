"""The cadre server's own CPU per request (psutil, the server process alone) and latency,
for a named model and model=auto against the stub upstream, at 1, 8 and 64 clients; the
steadier figure on a shared machine, and the one used to compare commits.

    python benchmarks/server_cpu.py [--seconds 4]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import _gateway_setup as setup
from benchmarks import gateway_overhead as g
from benchmarks._loadgen import run_load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    folder = ROOT / "runs" / "bench-gateway"
    folder.mkdir(parents=True, exist_ok=True)
    procs = []
    try:
        stub = g.free_port()
        procs.append(g.start([sys.executable, "-m", "cadre.server.stub_upstream", "--port", str(stub)], stub, "/stats"))
        config = setup.nano_project(folder, f"http://127.0.0.1:{stub}/v1", setup.nano_router(folder))
        port = g.free_port()
        procs.append(g.start(g.cadre_cmd(config, port, 1), port, "/health"))
        server = psutil.Process(procs[1].pid)
        print("| clients | model | req/s | p50 ms | p99 ms | server CPU µs/request | load |\n|---|---|---|---|---|---|---|")
        for clients in (1, 8, 64):
            for model in ("stub", "auto"):
                request = g.chat_request(port, model, False)
                asyncio.run(run_load(port, request, clients, 20, 10))
                cpu = sum(server.cpu_times()[:2])
                res = asyncio.run(run_load(port, request, clients, 10_000, args.seconds))
                per = (sum(server.cpu_times()[:2]) - cpu) / max(1, res["requests"]) * 1e6
                print(f"| {clients} | {model} | {res['rps']:.0f} | {res['p50']:.2f} | {res['p99']:.2f} | {per:.0f} "
                      f"| {os.getloadavg()[0]:.1f} |", flush=True)
    finally:
        for proc in procs:
            proc.terminate()


if __name__ == "__main__":
    main()
