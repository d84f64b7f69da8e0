"""A real `cadre serve` in a subprocess for the attack tests, plus the in-process server
of tests/server (its `slow` model shows whether a generation was cancelled).

The project routes `chat` to the math tool, so any text the keyword router does not
claim (such as "what is 9**9**9") reaches sympy. Its router model is an ONNX router
whose model.onnx is corrupt, so every routing decision carries an ONNX Runtime error and
a server path in its reason unless the server redacts them; `ghost` is a model whose
folder does not exist. The server reads local images only under `allowed/`.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import (  # noqa: F401  (fixtures for the in-process server)
    client,
    live,
    serve_engine,
    slow_log,
)

HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 1.5
MAX_CONNECTIONS = 24
ORIGIN = "https://app.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def security_project(root: Path, router_dir: Path) -> Path:
    """The project file, a corrupt ONNX router beside it, and the allowed image folder."""
    bad = root / "badonnx"
    shutil.copytree(router_dir, bad)
    time.sleep(0.01)
    (bad / "model.onnx").write_bytes(b"this is not an onnx graph")  # newer than the weights: opened as is
    (root / "allowed").mkdir()
    path = root / "cadre.yaml"
    path.write_text(f"""\
version: 1
runtime: {{memory_budget: 4GB, max_concurrent: 1, max_queue: 1}}
router: {{model: badonnx}}
routes: {{chat: {{tool: solve_math}}}}
models:
  - {{name: smollm2, path: smollm2-135m-instruct, memory_mb: 600, pinned: true, capabilities: [primary_chat]}}
  - {{name: badonnx, backend: onnx, path: "{bad}", capabilities: [intent_classification]}}
  - {{name: ghost, path: "{root / 'missing-model'}", capabilities: [summarization]}}
""")
    return path


class Served:
    """One `cadre serve` process on a free loopback port."""

    def __init__(self, root: Path, config: Path):
        self.root, self.port = root, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(root / "server.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config),
             "--port", str(self.port), "--header-timeout", str(HEADER_TIMEOUT),
             "--body-timeout", str(BODY_TIMEOUT), "--max-connections", str(MAX_CONNECTIONS),
             "--allow-local-images", str(root / "allowed"), "--cors-origin", ORIGIN,
             "--graceful-timeout", "5", "--log-level", "info"],
            stdout=self.log, stderr=subprocess.STDOUT, env=os.environ.copy())
        deadline = time.time() + 120
        while True:
            assert self.proc.poll() is None, self.server_log()
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "cadre serve did not start"
            time.sleep(0.2)

    def server_log(self) -> str:
        self.log.flush()
        return (self.root / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def served(tmp_path_factory, tiny_router_dir):
    """The attack target: a real `cadre serve` subprocess."""
    root = tmp_path_factory.mktemp("security")
    server = Served(root, security_project(root, tiny_router_dir))
    yield server
    server.stop()
