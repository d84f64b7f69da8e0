"""The decision log's size under a request-and-feedback flood, with rotation on.

A real `cadre serve` in front of the in-process stub upstream (cadre/server/stub_upstream.py)
routes every request (`model: auto`, the keyword router), so each one appends a decision
record; each answer's feedback (with its token) follows at once. The flood runs for
`--seconds` (or `--max-requests`, whichever comes first) from `--clients` threads, and a row
is printed every `--every` seconds: requests, feedback, the log's files and their total size.

    python benchmarks/log_flood.py --seconds 600                   # the default rotation (64MB x 4 kept)
    python benchmarks/log_flood.py --seconds 180 --max-size 2MB --keep 4

Bounded in time and count; writes only under a temporary folder (removed at the end).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project(folder: Path, upstream: str, max_size: str, keep: int) -> Path:
    path = folder / "cadre.yaml"
    path.write_text(f"""\
version: 1
gateway: {{decision_log: runs/decisions.jsonl, decision_log_max_size: {max_size}, decision_log_keep: {keep}}}
models:
  - {{name: up, backend: openai, url: "{upstream}", capabilities: [primary_chat], cost_per_1k_tokens: 0.001}}
""")
    return path


def start_server(config: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config),
                             "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=config.parent,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("error: cadre serve did not start")


class Flood:
    """Request + feedback pairs from several threads until told to stop."""

    def __init__(self, base: str, clients: int, max_requests: int):
        self.base, self.max_requests = base, max_requests
        self.requests = self.feedback = self.errors = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(clients)]

    def run(self, n: int) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            i = 0
            while not self.stop.is_set():
                with self.lock:
                    if self.requests >= self.max_requests:
                        return
                    self.requests += 1
                i += 1
                body = {"model": "auto", "max_tokens": 4,
                        "messages": [{"role": "user", "content": f"tell me about the sea, client {n} turn {i}"}]}
                r = client.post("/v1/chat/completions", json=body)
                if r.status_code != 200 or "x-cadre-feedback-token" not in r.headers:
                    self.errors += 1
                    continue
                fb = client.post("/v1/feedback", json={"id": r.headers["x-cadre-request-id"], "score": i % 2,
                                                       "token": r.headers["x-cadre-feedback-token"]})
                if fb.status_code == 200:
                    self.feedback += 1
                else:
                    self.errors += 1


def log_sizes(log: Path) -> tuple[int, int, int]:
    from cadre.runtime.gateway.logfiles import log_files

    sizes = [f.stat().st_size for f in log_files(log)]
    return len(sizes), sum(sizes), max(sizes, default=0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-size", default="64MB", help="gateway.decision_log_max_size")
    parser.add_argument("--keep", type=int, default=4, help="gateway.decision_log_keep")
    parser.add_argument("--every", type=float, default=15.0, help="seconds between rows")
    args = parser.parse_args(argv)

    from cadre.server.stub_upstream import StubThread

    stub = StubThread()
    folder = Path(tempfile.mkdtemp(prefix="log-flood-"))
    proc = None
    try:
        config = project(folder, stub.url, args.max_size, args.keep)
        port = free_port()
        proc = start_server(config, port)
        log = folder / "runs" / "decisions.jsonl"
        flood = Flood(f"http://127.0.0.1:{port}", args.clients, args.max_requests)
        started = time.time()
        for t in flood.threads:
            t.start()
        print(f"load average at start: {os.getloadavg()[0]:.2f}; rotation {args.max_size} x {args.keep} kept; "
              f"{args.clients} clients")
        print("| s | requests | feedback | errors | files | total MB | largest MB |")
        print("|---|---|---|---|---|---|---|")
        while any(t.is_alive() for t in flood.threads) and time.time() - started < args.seconds:
            time.sleep(min(args.every, max(0.0, args.seconds - (time.time() - started))))
            files, total, largest = log_sizes(log)
            print(f"| {time.time() - started:.0f} | {flood.requests} | {flood.feedback} | {flood.errors} | {files} "
                  f"| {total / 1e6:.2f} | {largest / 1e6:.2f} |", flush=True)
        flood.stop.set()
        for t in flood.threads:
            t.join(30)
        files, total, largest = log_sizes(log)
        elapsed = time.time() - started
        print(f"\n{flood.requests} requests and {flood.feedback} feedback records in {elapsed:.0f} s "
              f"({flood.requests / elapsed:.0f} requests/s); log: {files} files, {total / 1e6:.2f} MB in all, "
              f"the largest {largest / 1e6:.2f} MB; load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        stub.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
