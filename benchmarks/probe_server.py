"""Attack a real `cadre serve` and report what it survived.

    python benchmarks/probe_server.py [--soak 300] [--write]

Starts `cadre serve` in a subprocess on a free loopback port (a project whose `chat`
route goes to the math tool, a model whose folder is missing, local images allowed only
under one folder), then tries each attack of issue 13's server half, area by area:
denial of service (math bombs while /health is polled, metric-label cardinality, slow
and lying clients, a connection flood, decompression bombs), the server's own disk
(image paths, file:// URLs, paths in text), leaks (paths, runtime errors, addresses) and
bad input (surrogates, nesting, huge integers, tool_choice, tool schemas, CORS). Then it
injects faults (a killed math worker, clients that leave, SIGTERM during a math bomb) and
soaks the server with a bounded mixed load while sampling its memory. Issue 23's attacks
(benchmarks/_probe_attacks_r3.py) add megabytes of adversarial text for the keyword rules,
a page on another origin, the feedback channel, prompt text in reasons, an over-long
request target and a YAML alias bomb. `--write` replaces
the `## Server` section of docs/reliability.md with the tables.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._probe_attacks import ATTACKS, Target
from benchmarks._probe_attacks_r3 import ATTACKS as ROUND_3

PROJECT = """\
version: 1
runtime: {{memory_budget: 4GB, max_concurrent: 1, max_queue: 1}}
routes: {{chat: {{tool: solve_math}}}}
models:
  - {{name: smollm2, path: smollm2-135m-instruct, memory_mb: 600, pinned: true, capabilities: [primary_chat]}}
  - {{name: ghost, path: "{ghost}", capabilities: [summarization]}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path) -> Target:
    (root / "allowed").mkdir(exist_ok=True)
    config = root / "cadre.yaml"
    config.write_text(PROJECT.format(ghost=root / "missing-model"))
    port = free_port()
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config),
                             "--port", str(port), "--header-timeout", "2", "--body-timeout", "2",
                             "--max-connections", "32", "--allow-local-images", str(root / "allowed"),
                             "--cors-origin", "https://app.example", "--graceful-timeout", "5"],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"cadre serve exited: {(root / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return Target(base, port, proc, root)
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("cadre serve did not start in 180 s")


def rss_mb(proc) -> float:
    """Resident memory of the server and its math workers, in MB."""
    try:
        main = psutil.Process(proc.pid)
        procs = [main] + main.children(recursive=True)
        return sum(p.memory_info().rss for p in procs if p.is_running()) / 1e6
    except psutil.NoSuchProcess:
        return 0.0


def soak(target: Target, requests: int) -> dict:
    """A bounded mixed load (route, math, bad bodies, metrics); memory sampled every 50."""
    samples, errors, started = [rss_mb(target.proc)], 0, time.perf_counter()
    bodies = [("/v1/route", {"input": "what is the weather"}),
              ("/v1/chat/completions", {"model": "auto", "messages": [{"role": "user", "content": "what is 12 times 7"}]}),
              ("/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
              ("/v1/route", {"input": "x", "bogus": 1})]
    with httpx.Client(timeout=30) as client:
        for i in range(requests):
            path, body = bodies[i % len(bodies)]
            status = client.post(target.base + path, json=body).status_code
            errors += status >= 500
            if i % 50 == 49:
                client.get(target.base + "/metrics")
                samples.append(rss_mb(target.proc))
    return {"requests": requests, "5xx": errors, "seconds": time.perf_counter() - started,
            "start_mb": samples[0], "end_mb": samples[-1], "max_mb": max(samples),
            "after_first_50_mb": samples[1] if len(samples) > 1 else samples[0]}


def run_attacks(target: Target) -> list[tuple[str, str, bool, str]]:
    rows = []
    for area, name, attack in [*ATTACKS, *ROUND_3]:
        try:
            ok, detail = attack(target)
        except Exception as exc:  # a probe that crashes counts as a failure, with why
            ok, detail = False, f"probe error: {type(exc).__name__}: {exc}"
        rows.append((area, name, ok, detail))
        print(f"  {'ok  ' if ok else 'FAIL'} {area:12s} {name}: {detail}", flush=True)
    return rows


def sigterm_during_math(target: Target) -> tuple[bool, str]:
    """SIGTERM while a math bomb is being computed: the server must exit (not hang)."""
    thread = threading.Thread(target=lambda: _quiet_post(target, "what is 9**9**9"), daemon=True)
    thread.start()
    time.sleep(0.5)
    started = time.perf_counter()
    target.proc.terminate()
    try:
        target.proc.wait(20)
    except subprocess.TimeoutExpired:
        target.proc.kill()
        return False, "still running 20 s after SIGTERM"
    return True, f"exited {time.perf_counter() - started:.1f} s after SIGTERM"


def _quiet_post(target: Target, text: str) -> None:
    try:
        httpx.post(target.base + "/v1/chat/completions", timeout=30,
                   json={"model": "auto", "messages": [{"role": "user", "content": text}]})
    except httpx.HTTPError:
        pass


def tables(rows, memory: dict, sigterm: tuple[bool, str], soak_n: int) -> str:
    areas: dict[str, list] = {}
    for area, _, ok, _ in rows:
        areas.setdefault(area, []).append(ok)
    load = os.getloadavg()
    out = [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} CPUs, "
           f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (a shared, loaded machine). "
           f"Reproduce: `python benchmarks/probe_server.py --soak {soak_n} --write`.", "",
           "| area | tried | handled | failed |", "|---|---|---|---|"]
    for area, oks in areas.items():
        out.append(f"| {area} | {len(oks)} | {sum(oks)} | {len(oks) - sum(oks)} |")
    total = [ok for _, _, ok, _ in rows]
    out += [f"| **all** | {len(total)} | {sum(total)} | {len(total) - sum(total)} |", "",
            "| area | attack | result | detail |", "|---|---|---|---|"]
    out += [f"| {a} | {n} | {'handled' if ok else '**failed**'} | {d.replace('|', '/')} |" for a, n, ok, d in rows]
    out += ["", f"Shutdown: SIGTERM during a math bomb: {'handled' if sigterm[0] else '**failed**'} ({sigterm[1]}).", "",
            f"Soak: {memory['requests']} mixed requests (route, math, 404, 400, a /metrics scrape every 50) in "
            f"{memory['seconds']:.0f} s, {memory['5xx']} answers of 5xx; server + math workers RSS "
            f"{memory['start_mb']:.0f} MB at start, {memory['after_first_50_mb']:.0f} MB after 50 requests, "
            f"{memory['end_mb']:.0f} MB at the end (max {memory['max_mb']:.0f} MB)."]
    return "\n".join(out) + "\n"


def write_section(text: str) -> None:
    """Replace (or add) the `## Server` section of docs/reliability.md, atomically."""
    path = ROOT / "docs" / "reliability.md"
    doc = path.read_text() if path.exists() else "# Reliability and security\n"
    start = doc.find("## Server\n")
    marker = "<!-- probe_server.py results -->\n"
    if start < 0 or marker not in doc[start:]:
        raise SystemExit("docs/reliability.md has no `## Server` section with the results marker")
    begin = doc.index(marker, start) + len(marker)
    end = doc.find("\n## ", begin)
    end = len(doc) if end < 0 else end + 1
    new = doc[:begin] + "\n" + text + "\n" + doc[end:]
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(new)
    os.replace(tmp.name, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soak", type=int, default=300, help="requests in the memory soak (bounded)")
    parser.add_argument("--write", action="store_true", help="write the tables into docs/reliability.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        target = start_server(Path(tmp))
        try:
            print("attacks:", flush=True)
            rows = run_attacks(target)
            print("soak:", flush=True)
            memory = soak(target, min(args.soak, 5000))
            sigterm = sigterm_during_math(target)
        finally:
            if target.proc.poll() is None:
                target.proc.kill()
        text = tables(rows, memory, sigterm, args.soak)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
