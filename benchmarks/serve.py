"""Load tests of `cadre serve` on loopback: routing throughput with 64 concurrent
clients, the latency `model=auto` adds over naming the model, and a soak with RSS
sampled over time. Every loop is bounded; the script stops by itself.

    python benchmarks/serve.py --config configs/cadre.yaml [--soak-seconds 300]
    python benchmarks/serve.py --checkpoints runs/serve-bench   # runs/demo/<name> → DIR/<name>

The server runs as a separate process (`cadre serve`), so its RSS is measured alone.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import tempfile
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._report import table, write_section

PROMPTS = [
    "hello there, how are you today?", "write a python function to reverse a list",
    "what is 17 times 23?", "translate 'good morning' into french",
    "summarize this article about the history of the bicycle", "draw a picture of a red car",
    "tell me a story about a castle", "solve the equation 2x + 3 = 11",
    "write a sql query to count users by country", "what do you think of the moon?",
]


def with_checkpoints(config: str, folder: str, out_dir: Path) -> str:
    """A copy of the project with `runs/demo/<name>` paths moved to `folder/<name>`;
    models whose folder is missing there are left out (and named)."""
    import yaml

    data = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    kept = []
    for model in data["models"]:
        path = str(model.get("path") or "")
        if path.startswith("runs/demo/"):
            moved = Path(folder).resolve() / Path(path).name
            if not moved.is_dir():
                print(f"note: {model['name']} left out ({moved} not found)", flush=True)
                continue
            model["path"] = str(moved)
        kept.append(model)
    data["models"] = kept
    target = out_dir / "cadre.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(target)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(config: str, port: int, queue_size: int) -> subprocess.Popen:
    """`cadre serve` on 127.0.0.1 in its own process; returns once /health answers."""
    cmd = [sys.executable, "-m", "cadre.cli.main", "serve", "--config", config, "--host", "127.0.0.1",
           "--port", str(port), "--queue-size", str(queue_size), "--log-level", "warning"]
    env = {**os.environ, "CADRE_API_KEY": ""}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("server did not start within 180 s")


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class RawClient:
    """A minimal keep-alive HTTP/1.1 client on one asyncio connection: at 64 concurrent
    clients a full client library costs more CPU than the server, and this machine's
    cores are shared by both."""

    def __init__(self, port: int):
        self.port, self.reader, self.writer = port, None, None

    async def post(self, path: str, payload: dict) -> tuple[int, bytes]:
        """(status, body) of one POST with a JSON body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        body = json.dumps(payload).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(h.split(":", 1)[1]) for h in lines if h.lower().startswith("content-length:"))
        return int(lines[0].split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def route_load(port: int, clients: int, per_client: int) -> dict:
    """`clients` concurrent keep-alive connections each sending `per_client` /v1/route requests."""
    latencies, errors = [], 0

    async def worker(seed: int):
        nonlocal errors
        rng, client = random.Random(seed), RawClient(port)
        try:
            for _ in range(per_client):
                start = time.perf_counter()
                status, _ = await client.post("/v1/route", {"input": rng.choice(PROMPTS)})
                latencies.append((time.perf_counter() - start) * 1000)
                errors += status != 200
        finally:
            client.close()
    await worker(-1)  # warm-up (router loaded) outside the measurement
    latencies.clear()
    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    elapsed = time.perf_counter() - start
    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
            "p50": pct(latencies, 50), "p99": pct(latencies, 99)}


async def route_alone(port: int, n: int) -> dict:
    """One client, one request at a time: what a routing decision costs end to end (the
    cost `model=auto` adds before generation starts)."""
    latencies, client = [], RawClient(port)
    try:
        for i in range(n):
            start = time.perf_counter()
            status, _ = await client.post("/v1/route", {"input": PROMPTS[i % len(PROMPTS)]})
            latencies.append((time.perf_counter() - start) * 1000)
            assert status == 200, status
    finally:
        client.close()
    return {"requests": n, "p50": pct(latencies, 50), "p99": pct(latencies, 99)}


def chat(client: httpx.Client, model: str, prompt: str, max_tokens: int) -> tuple[float, str]:
    """One whole chat completion: (latency ms, answering model)."""
    body = {"model": model, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens, "temperature": 0}
    start = time.perf_counter()
    r = client.post("/v1/chat/completions", json=body)
    ms = (time.perf_counter() - start) * 1000
    r.raise_for_status()
    return ms, r.json()["model"]


def auto_overhead(base: str, pairs: int, max_tokens: int) -> dict:
    """Paired calls: model=auto, then the model it chose named directly, same prompt.
    Prompts that auto answers with a built-in tool (e.g. sympy for math) have no model
    to name, so they are left out of the pairs."""
    auto_ms, direct_ms, diffs, chosen = [], [], [], {}
    with httpx.Client(base_url=base, timeout=120) as client:
        registry = {m["id"] for m in client.get("/v1/models").json()["data"]}
        prompts = []
        for prompt in PROMPTS:  # warm-up: every model the prompts route to gets loaded
            _, model = chat(client, "auto", prompt, max_tokens)
            if model in registry:
                chat(client, model, prompt, max_tokens)
                prompts.append(prompt)
        for i in range(pairs):
            prompt = prompts[i % len(prompts)]
            a, model = chat(client, "auto", prompt, max_tokens)
            d, _ = chat(client, model, prompt, max_tokens)
            auto_ms.append(a), direct_ms.append(d), diffs.append(a - d)
            chosen[model] = chosen.get(model, 0) + 1
    return {"pairs": pairs, "prompts": len(prompts), "auto_p50": pct(auto_ms, 50), "auto_p99": pct(auto_ms, 99),
            "direct_p50": pct(direct_ms, 50), "direct_p99": pct(direct_ms, 99),
            "diff_p50": pct(diffs, 50), "diff_p99": pct(diffs, 99), "chosen": chosen}


async def soak(base: str, pid: int, seconds: float, clients: int, max_tokens: int) -> dict:
    """Mixed traffic for `seconds`; the server's RSS is sampled every few seconds."""
    proc, samples, counts = psutil.Process(pid), [], {"ok": 0, "errors": 0}
    deadline = time.time() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        async def worker(seed: int):
            rng = random.Random(seed)
            while time.time() < deadline:
                ok = await one_request(client, rng, max_tokens)
                counts["ok" if ok else "errors"] += 1

        async def sampler():
            while time.time() < deadline:
                samples.append(proc.memory_info().rss / 2**20)
                await asyncio.sleep(min(5.0, max(0.5, seconds / 60)))
            samples.append(proc.memory_info().rss / 2**20)
        await asyncio.gather(sampler(), *(worker(i) for i in range(clients)))
    quarter = [samples[min(len(samples) - 1, len(samples) * q // 4)] for q in (1, 2, 3)]
    return {**counts, "seconds": seconds, "rss_first": samples[0], "rss_quarters": quarter,
            "rss_last": samples[-1], "rss_max": max(samples),
            "rss_second_half_growth": samples[-1] - quarter[1], "samples": len(samples)}


async def one_request(client: httpx.AsyncClient, rng: random.Random, max_tokens: int) -> bool:
    """One request of a random kind; True when it succeeded end to end."""
    prompt, kind = rng.choice(PROMPTS), rng.choice(["route", "route", "chat", "stream", "completion",
                                                    "models", "metrics"])
    messages = [{"role": "user", "content": prompt}]
    if kind == "route":
        r = await client.post("/v1/route", json={"input": prompt})
    elif kind == "chat":
        r = await client.post("/v1/chat/completions", json={"model": "auto", "messages": messages,
                                                            "max_tokens": max_tokens})
    elif kind == "stream":
        body = {"model": "auto", "messages": messages, "max_tokens": max_tokens, "stream": True}
        async with client.stream("POST", "/v1/chat/completions", json=body) as r:
            lines = [line async for line in r.aiter_lines() if line]
        return r.status_code == 200 and lines[-1] == "data: [DONE]"
    elif kind == "completion":
        r = await client.post("/v1/completions", json={"model": "auto", "prompt": prompt,
                                                       "max_tokens": max_tokens})
    else:
        r = await client.get("/v1/models" if kind == "models" else "/metrics")
    return r.status_code == 200


def report(route: dict, alone: dict, overhead: dict, soaked: dict, args) -> str:
    """The Markdown body for docs/benchmarks.md."""
    chosen = ", ".join(f"{m} ×{n}" for m, n in sorted(overhead["chosen"].items()))
    parts = [
        f"**/v1/route** ({route['requests']} requests from {args.clients} concurrent clients, "
        f"{route['errors']} errors; then {alone['requests']} from one client, one at a time)",
        table(["clients", "decisions/s", "p50 ms", "p99 ms"],
              [[args.clients, route["rps"], route["p50"], route["p99"]],
               [1, 1000 / alone["p50"], alone["p50"], alone["p99"]]]),
        f"**Chat completions, `model=auto` vs the chosen model named directly** "
        f"({overhead['pairs']} sequential pairs over {overhead['prompts']} prompts, max_tokens={args.max_tokens}, "
        f"temperature 0; chosen: {chosen})",
        table(["", "p50 ms", "p99 ms"], [["model=auto", overhead["auto_p50"], overhead["auto_p99"]],
                                         ["model named", overhead["direct_p50"], overhead["direct_p99"]],
                                         ["added by auto (paired difference)", overhead["diff_p50"],
                                          overhead["diff_p99"]]]),
        f"**Soak: {soaked['seconds']:.0f} s of mixed traffic, {args.soak_clients} clients** "
        f"(route, chat, streamed chat, completions, models, metrics)",
        table(["requests ok", "errors", "RSS MiB at 0 / 25 / 50 / 75 / 100 %", "RSS max MiB",
               "growth over 2nd half MiB", "samples"],
              [[soaked["ok"], soaked["errors"],
                " / ".join(f"{v:.0f}" for v in [soaked["rss_first"], *soaked["rss_quarters"], soaked["rss_last"]]),
                soaked["rss_max"], soaked["rss_second_half_growth"], soaked["samples"]]]),
        f"Load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        f"(clients and server share the machine). {args.note}".strip(),
    ]
    return "\n\n".join(parts)


def main(argv=None) -> None:
    """Run the three measurements and write the `serve` section of docs/benchmarks.md."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/cadre.yaml")
    p.add_argument("--checkpoints", help="folder holding the specialists instead of runs/demo")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--per-client", type=int, default=20, help="/v1/route requests per client")
    p.add_argument("--pairs", type=int, default=30, help="auto/direct chat pairs")
    p.add_argument("--max-tokens", type=int, default=1,
                   help="completion tokens per chat (1 keeps generation time, which auto does not change, small)")
    p.add_argument("--note", default="", help="a line added under the tables (e.g. how the checkpoints were made)")
    p.add_argument("--soak-seconds", type=float, default=300)
    p.add_argument("--soak-clients", type=int, default=4)
    p.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = p.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    config = with_checkpoints(args.config, args.checkpoints, Path(tmp.name)) if args.checkpoints else args.config
    port = free_port()
    server = start_server(config, port, queue_size=max(256, args.clients * 2))
    base = f"http://127.0.0.1:{port}"
    try:
        route = asyncio.run(route_load(port, args.clients, args.per_client))
        print("route", route, flush=True)
        alone = asyncio.run(route_alone(port, 200))
        print("route alone", alone, flush=True)
        overhead = auto_overhead(base, args.pairs, args.max_tokens)
        print("auto overhead", overhead, flush=True)
        soaked = asyncio.run(soak(base, server.pid, args.soak_seconds, args.soak_clients, args.max_tokens))
        print("soak", soaked, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    body = report(route, alone, overhead, soaked, args)
    print(body)
    if not args.no_write:
        shown = {k: v for k, v in vars(args).items() if v != p.get_default(k) and k not in ("note", "no_write")}
        command = " ".join(["python benchmarks/serve.py"] + [f"--{k.replace('_', '-')} {v}" for k, v in shown.items()])
        write_section("serve", body, command)


if __name__ == "__main__":
    main()
