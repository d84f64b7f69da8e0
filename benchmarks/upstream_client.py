"""CPU per upstream call of the two async HTTP clients the `openai` backend could use,
httpx.AsyncClient and aiohttp.ClientSession (both pooled, keep-alive), against the stub
upstream in the same process, at 1 and 64 concurrent calls, alternating.

    python benchmarks/upstream_client.py [--rounds 2] [--calls 2000]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import gateway_overhead as g
from benchmarks._report import table, write_section
from cadre.server.stub_upstream import start

BODY = {"model": "stub", "messages": [{"role": "user", "content": "hi"}]}


async def measure(rounds: int, calls: int) -> tuple[dict, list]:
    import aiohttp
    import httpx

    server, port, _ = await start()
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    hx = httpx.AsyncClient(limits=httpx.Limits(max_connections=None, max_keepalive_connections=256))
    ah = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def via_httpx():
        (await hx.post(url, json=BODY)).json()

    async def via_aiohttp():
        async with ah.post(url, json=BODY) as response:
            await response.json()

    results, loads = {}, []
    for r in range(rounds):
        order = [("httpx", via_httpx), ("aiohttp", via_aiohttp)]
        for name, call in (order if r % 2 == 0 else order[::-1]):
            for concurrency in (1, 64):
                async def worker(n):
                    for _ in range(n):
                        await call()
                cpu = time.process_time()
                await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
                per_call = (time.process_time() - cpu) / (calls // concurrency * concurrency) * 1e6
                results.setdefault((name, concurrency), []).append(per_call)
                loads.append(os.getloadavg()[0])
    await hx.aclose()
    await ah.close()
    server.close()
    return results, loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    results, loads = asyncio.run(measure(args.rounds, args.calls))
    rows = [[name, c, g.ms(v)] for (name, c), v in sorted(results.items())]
    body = (f"CPU µs per call (client and stub together, one process), mean ± sd over {args.rounds} rounds; "
            f"load average {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores (shared machine).\n\n"
            + table(["client", "concurrent calls", "CPU µs per call"], rows))
    print(body)
    if not args.no_write:
        write_section("Upstream HTTP client: httpx or aiohttp (issue 12)", body,
                      f"python benchmarks/upstream_client.py --rounds {args.rounds} --calls {args.calls}")


if __name__ == "__main__":
    main()
