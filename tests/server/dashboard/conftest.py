"""A real server for the dashboard tests: a real Engine over the tiny test checkpoints
(a tiny causal primary, the nano router, a `code` specialist and a `big` model whose
estimate exceeds the budget), behind uvicorn on a free loopback port; a second app on the
same engine requires an API key. A specialist report and a learned-router folder sit in
the runs folder the dashboard scans."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

KEY = "dash-key"


def project_yaml(primary_dir, router_dir, code_dir) -> str:
    return f"""\
version: 1
runtime: {{memory_budget: 3GB, keep_alive: 600}}
router: {{model: router}}
models:
  - {{name: primary, path: "{primary_dir}", capabilities: [primary_chat], cost_per_1k_tokens: 0.002}}
  - {{name: router, backend: onnx, path: "{router_dir}", capabilities: [intent_classification], priority: 100}}
  - {{name: code, path: "{code_dir}", capabilities: [code_generation], priority: 100, max_context: 256,
     cost_per_1k_tokens: 0.01}}
  - {{name: big, path: "{primary_dir}", memory_mb: 50000, capabilities: [math]}}
"""


def write_runs(root: Path) -> Path:
    """A specialist report (the shape `cadre specialist run` writes) and a learned-router
    cadre.json with its validation curve (the shape `cadre router fit-learned` writes)."""
    runs = root / "runs"
    (runs / "specialists" / "sentiment").mkdir(parents=True)
    report = {"specialist": "sentiment", "task": "classify", "base": "smollm2-135m-instruct", "device": "cpu",
              "local_test": True, "baseline_only": False, "data": {"rows": {"train": 400}},
              "baseline": {"n": 200, "metrics": {"accuracy": 0.521}},
              "finetuned": {"n": 200, "metrics": {"accuracy": 0.86}},
              "gates": {"metric": "accuracy", "passed": True, "summary": "all gates passed",
                        "checks": [{"check": "finetuned >= 0.75", "value": 0.86, "passed": True, "enforced": True}]},
              "exported": {"adapter": "adapter"}}
    (runs / "specialists" / "sentiment" / "report.json").write_text(json.dumps(report))
    (runs / "learned").mkdir()
    curve = [{"param": lam, "accuracy": acc, "cost": cost, "rows": 500}
             for lam, acc, cost in ((0.0, 0.874, 0.0120), (0.5, 0.871, 0.0061), (1.0, 0.862, 0.0039),
                                    (2.0, 0.83, 0.0021), (4.0, 0.79, 0.0008))]
    meta = {"type": "router", "router_kind": "learned", "models": ["gpt-4", "mixtral", "llama-70b"],
            "operating_point": {"objective": "utility", "param": 1.0, "val_accuracy": 0.862, "val_cost": 0.0039,
                                "target_quality": 0.86, "budget": None, "validation_curve": curve,
                                "chosen_on": "out-of-fold predictions on 500 training rows"}}
    (runs / "learned" / "cadre.json").write_text(json.dumps(meta))
    return runs


@pytest.fixture(scope="session")
def dash_engine(tmp_path_factory, tiny_router_dir, tiny_causal_dir):
    import torch

    from cadre.runtime.engine import Engine

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("dashboard")
    shutil.copytree(tiny_causal_dir, root / "code")
    (root / "cadre.yaml").write_text(project_yaml(tiny_causal_dir, tiny_router_dir, root / "code"))
    engine = Engine.from_config_file(root / "cadre.yaml")
    engine.runs = write_runs(root)
    yield engine
    engine.close()


class LiveServer:
    """uvicorn serving one app in a thread on a free loopback port."""

    def __init__(self, app):
        import socket
        import threading
        import time

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            assert time.time() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def _app(engine, keys=()):
    from cadre.server.app import create_app
    from cadre.server.settings import ServerSettings

    return create_app(engine, ServerSettings(api_keys=tuple(keys), runs_dirs=(str(engine.runs),)))


@pytest.fixture
def dash_key():
    return KEY


@pytest.fixture(scope="session")
def dash(dash_engine):
    """The dashboard server without a key."""
    server = LiveServer(_app(dash_engine))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dash_keyed(dash_engine):
    """The same engine behind a server that requires KEY."""
    server = LiveServer(_app(dash_engine, (KEY,)))
    yield server
    server.stop()


def chromium_path() -> str | None:
    """Debian's chromium binary (the /usr/bin wrapper's target when present)."""
    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
        if path and Path(path).is_file():
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium driven by Playwright (no Playwright browser download).

    Module scope: Playwright's sync API keeps an event loop running on the main thread
    while it is open, so later tests' `asyncio.run` would fail if it outlived its module."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("CADRE_REQUIRE_BROWSER"):
            pytest.fail("chromium and playwright are required (.ci/run installs them)")
        pytest.skip("no chromium or playwright here (apt-get install chromium; pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors and page errors in `page.errors`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
