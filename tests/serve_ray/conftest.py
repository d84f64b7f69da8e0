"""A real local Ray Serve (`cadre serve --ray` in a subprocess: 2 ingress replicas, 2 model
replicas) beside single-process `cadre serve`, both on copies of one project: SmolLM2 as
the primary, the tiny `code` specialist trained in the session, and a stub OpenAI upstream.
ray_probe.py joins the embedded Ray as a driver to read the model replicas' stats."""
from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_yaml(code_dir, upstream_url: str) -> str:
    return f"""\
version: 1
runtime: {{memory_budget: 4GB}}
scale:
  ingress: {{replicas: 2}}
  models: {{replicas: 2, max_ongoing_requests: 16}}
models:
  - {{name: smollm2, path: smollm2-135m-instruct, memory_mb: 600, pinned: true,
     capabilities: [primary_chat, summarization, translation, prompt_enhancement]}}
  - {{name: code, path: "{code_dir}", capabilities: [code_generation], max_context: 256, priority: 100, force: true}}
  - {{name: upstream, backend: openai, url: '{upstream_url}', capabilities: [math],
     options: {{retries: 0, timeout_s: 5, connect_timeout_s: 1}}}}
"""


class Served:
    """`cadre serve` (with `extra` args) in a subprocess on a free port, stopped at the end."""

    def __init__(self, config: Path, extra: tuple[str, ...] = (), timeout: float = 240):
        import httpx

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = config.parent / "serve.log"
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config),
                                          "--port", str(self.port), "--log-level", "warning", *extra],
                                         env=env, stdout=out, stderr=subprocess.STDOUT, cwd=config.parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"cadre serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise AssertionError(f"cadre serve did not start: {self.log.read_text()[-3000:]}")

    def ray_address(self, timeout: float = 240) -> str:
        """The Ray address `cadre serve --ray` prints once every replica is up."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = re.search(r"Ray at (\S+?)\)", self.log.read_text())
            if found:
                return found.group(1)
            time.sleep(0.5)
        raise AssertionError(self.log.read_text()[-2000:])

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def upstream():
    spec = importlib.util.spec_from_file_location("stub_upstream", HERE.parent / "gateway" / "stub_upstream.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stub = module.StubUpstream("upstream")
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def projects(tmp_path_factory, tiny_causal_dir, upstream):
    """Two copies of the project (each server keeps its own decision log)."""
    out = {}
    for kind in ("single", "ray"):
        root = tmp_path_factory.mktemp(kind)
        (root / "cadre.yaml").write_text(project_yaml(tiny_causal_dir, upstream.url))
        out[kind] = root / "cadre.yaml"
    return out


@pytest.fixture(scope="module")
def single(projects):
    server = Served(projects["single"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ray_served(projects):
    """`cadre serve --ray`; it must stop cleanly (exit 0) at the end."""
    server = Served(projects["ray"], ("--ray",))
    try:
        server.ray_address()  # printed once every replica is up
        yield server
    finally:
        code = server.stop()
        assert code == 0, server.log.read_text()[-3000:]
