"""A real cadre server for the server tests: a real Engine (SmolLM2 primary, the tiny
nano router and tiny code model from tests/conftest.py) behind uvicorn on 127.0.0.1.

Two fault-injection models are plugged in the way an outside backend plugin would be
(`register_backend`): `slow` writes one piece every 50 ms and records whether it was
cancelled; `boom` raises an unexpected exception. `ghost` is a local model whose folder
does not exist (its load fails with BackendError).
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from cadre.runtime.backends import base
from cadre.runtime.backends.base import Backend, TextStream, register_backend

API_KEY = "test-key"
MAX_BYTES = 64 * 1024
SLOW_LOG: list[str] = []


class SlowBackend(Backend):
    """Writes `tick<i> ` every 50 ms, logging 'tick' in SLOW_LOG for each; then 'finished'
    when it wrote all it was asked for, or 'stopped' when its cancel flag ended it early."""

    def load(self) -> None:
        self.loaded = True

    def stream(self, messages, max_tokens=256, temperature=0.0, top_p=1.0, stop=None, cancel=None):
        def pieces(out: TextStream):
            done = False
            try:
                for i in range(max_tokens):
                    if cancel is not None and cancel.is_set():
                        return
                    time.sleep(0.05)
                    SLOW_LOG.append("tick")
                    out.usage.completion_tokens += 1
                    yield f"tick{i} "
                out.finish_reason, done = "length", True
            finally:
                if done or (cancel is not None and cancel.is_set()):
                    SLOW_LOG.append("finished" if done else "stopped")
        return TextStream(pieces)


class SlowLoadBackend(SlowBackend):
    """Takes 1.5 s to load, then writes like `slow` (a first call pays the load)."""

    def load(self) -> None:
        time.sleep(1.5)
        self.loaded = True


class BoomBackend(Backend):
    """Loads, then fails with an exception no layer expects."""

    def load(self) -> None:
        self.loaded = True

    def stream(self, messages, max_tokens=256, temperature=0.0, top_p=1.0, stop=None, cancel=None):
        raise ZeroDivisionError("secret internal detail")


def register_test_backends() -> None:
    """Plug the fault-injection backends in (once per session)."""
    for name, cls in (("test-slow", SlowBackend), ("test-boom", BoomBackend), ("test-slowload", SlowLoadBackend)):
        if name not in base.BACKENDS:
            register_backend(name, cls)


def project_yaml(router_dir, code_dir, ghost_dir) -> str:
    """The test project: max_concurrent 1 and max_queue 1 per model, so a queue fills fast."""
    return f"""\
version: 1
runtime: {{memory_budget: 4GB, max_concurrent: 1, max_queue: 1}}
router: {{model: router}}
models:
  - {{name: smollm2, path: smollm2-135m-instruct, memory_mb: 600, pinned: true,
     capabilities: [primary_chat, summarization, translation, prompt_enhancement]}}
  - {{name: router, backend: onnx, path: "{router_dir}", capabilities: [intent_classification], priority: 100}}
  - {{name: code, path: "{code_dir}", capabilities: [code_generation], max_context: 256, priority: 100, force: true}}
  - {{name: slow, backend: test-slow, capabilities: [embedding]}}
  - {{name: boom, backend: test-boom, capabilities: [embedding]}}
  - {{name: ghost, path: "{ghost_dir}", capabilities: [math]}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving one app in a background thread on a free loopback port."""

    def __init__(self, app, graceful: float = 10.0):
        import uvicorn

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_graceful_shutdown=graceful)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            assert time.time() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)

    def stop(self, timeout: float = 30) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


@pytest.fixture(scope="session")
def serve_engine(tmp_path_factory, tiny_router_dir, tiny_causal_dir):
    """The real Engine for the test project."""
    import torch

    from cadre.runtime.engine import Engine

    torch.set_num_threads(1)
    register_test_backends()
    root = tmp_path_factory.mktemp("serve")
    path = root / "cadre.yaml"
    path.write_text(project_yaml(tiny_router_dir, tiny_causal_dir, root / "missing-model"))
    engine = Engine.from_config_file(path)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def live(serve_engine):
    """The server with an API key and a 64 KiB request limit."""
    from cadre.server.app import create_app
    from cadre.server.settings import ServerSettings

    app = create_app(serve_engine, ServerSettings(api_keys=(API_KEY,), max_request_bytes=MAX_BYTES))
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(live):
    """The official openai client pointed at the live server."""
    import openai

    return openai.OpenAI(base_url=f"{live.base}/v1", api_key=API_KEY, max_retries=0, timeout=120)


@pytest.fixture
def api_key():
    return API_KEY


@pytest.fixture
def slow_log():
    """What the `slow` model did, in order (cleared for each test)."""
    SLOW_LOG.clear()
    return SLOW_LOG


@pytest.fixture
def live_server():
    """Start another server for an app: `live_server(app)` (stopped after the test)."""
    started = []

    def start(app):
        started.append(LiveServer(app))
        return started[-1]
    yield start
    for server in started:
        server.stop()
