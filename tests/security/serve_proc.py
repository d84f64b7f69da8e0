"""A real `cadre serve` subprocess over the tiny test checkpoints, for the browser-origin and
decision-log tests: a tiny causal primary, the nano router (ONNX) and a `spare` copy of the
primary that a request can load and unload, and `extra`, another model that starts unloaded. The decision log is on (its default path under
the project's folder) unless the caller's `gateway` says otherwise."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_project(root: Path, causal_dir: Path, router_dir: Path, gateway: str = "") -> Path:
    """The project file (and a copy of the primary for `spare`) under `root`."""
    shutil.copytree(causal_dir, root / "spare", dirs_exist_ok=True)
    path = root / "cadre.yaml"
    path.write_text(f"""\
version: 1
runtime: {{memory_budget: 3GB, keep_alive: 600}}
router: {{model: router}}
{f"gateway: {{{gateway}}}" if gateway else ""}
models:
  - {{name: primary, path: "{causal_dir}", capabilities: [primary_chat], cost_per_1k_tokens: 0.002}}
  - {{name: router, backend: onnx, path: "{router_dir}", capabilities: [intent_classification], priority: 100}}
  - {{name: spare, path: "{root / 'spare'}", capabilities: [summarization]}}
  - {{name: extra, path: "{root / 'spare'}", capabilities: [translation]}}
""")
    return path


class CadreServe:
    """`cadre serve --config CONFIG` plus `args` on a free loopback port; `stop()` ends it."""

    def __init__(self, config: Path, *args: str, timeout: float = 120):
        self.root, self.port = config.parent, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.root / f"serve-{self.port}.log"
        self.log = open(self.log_path, "wb")
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config),
                                      "--port", str(self.port), "--log-level", "warning", *args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while True:
            assert self.proc.poll() is None, self.server_log()
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "cadre serve did not start:\n" + self.server_log()
            time.sleep(0.2)

    def server_log(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def post(self, path: str, body, **kw) -> httpx.Response:
        return httpx.post(self.base + path, json=body, timeout=kw.pop("timeout", 60), **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
