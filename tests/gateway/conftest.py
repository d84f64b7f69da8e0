"""Fixtures of the gateway tests: stub upstreams (real HTTP servers on loopback), a learned
router fitted on a small synthetic routing table (real MiniLM features), and project files.

Three models: `alpha` (cheapest) answers math prompts correctly, `beta` the others, and
`gamma` (dearest) everything. The router should send math to alpha and the rest to beta.
"""
from __future__ import annotations

import importlib.util
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
COSTS = {"alpha": 0.001, "beta": 0.002, "gamma": 0.02}
MATH = ["What is {a} plus {b}?", "Compute {a} times {b}.", "Solve for x: {a}x + {b} = {c}.",
        "Calculate {a} divided by {b}.", "What is the sum of {a}, {b} and {c}?"]
OTHER = ["Write a short poem about {t}.", "Describe the history of {t}.", "Tell me a story about {t}.",
         "Why do people enjoy {t}?", "Summarize a novel about {t}."]
THINGS = ["the sea", "old castles", "jazz music", "a lonely robot", "autumn leaves", "city gardens",
          "mountain trains", "a lost cat", "ancient Rome", "coffee shops"]
MATH_PROMPT = "What is 17 plus 25?"
OTHER_PROMPT = "Write a short poem about the sea."


def load_stub_module():
    """tests/gateway/stub_upstream.py, imported by path (tests is not a package)."""
    spec = importlib.util.spec_from_file_location("stub_upstream", HERE / "stub_upstream.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        is_math = i % 2 == 0
        prompt = rng.choice(MATH if is_math else OTHER).format(
            a=rng.randint(2, 99), b=rng.randint(2, 99), c=rng.randint(2, 99), t=rng.choice(THINGS))
        rows.append({"prompt": prompt, "model_scores": {"alpha": int(is_math), "beta": int(not is_math),
                                                        "gamma": 1}, "model_costs": COSTS})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def learned_dir(tmp_path_factory):
    """A linear learned router over alpha, beta and gamma (and its training table)."""
    import torch

    from cadre.data.routing_tables import read_routing_table
    from cadre.routing.learned.router import fit_learned

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("learned_gateway")
    train = write_jsonl(root / "train.jsonl", table_rows(64, 0))
    fit_learned(read_routing_table(train), root / "router", kind="linear", folds=3, cache=root / "cache", seed=0)
    return root / "router"


@pytest.fixture(scope="session")
def train_table(learned_dir):
    return learned_dir.parent / "train.jsonl"


@pytest.fixture(scope="session")
def stubs():
    """alpha, beta and gamma upstreams; each answers '<name>: ok' with 10/4 tokens."""
    module = load_stub_module()
    servers = {name: module.StubUpstream(name) for name in COSTS}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def healthy(stubs):
    """Every stub answering normally (before and after the test)."""
    def reset():
        for s in stubs.values():
            s.mode = "ok"
            if s.server is None:
                s.start()
    reset()
    yield stubs
    reset()


def project_yaml(learned_dir, stubs, gateway: str = "", router: str = "{model: picker}",
                 routes: str = "", labels: dict | None = None) -> str:
    """A project: gamma is the primary, alpha/beta/gamma are openai upstreams, picker is the
    learned router. Prices make 14 tokens cost what the routing table says a call costs."""
    names = {m: m for m in COSTS}
    if labels:
        names = {labels.get(m, m): m for m in COSTS}
        names = {v: k for k, v in names.items()}
    lines = ["version: 1", f"router: {router}", f"gateway: {{{gateway}}}" if gateway else "", routes, "models:"]
    for model, cost in COSTS.items():
        caps = "[primary_chat]"
        priority = 60 if model == "gamma" else 10
        lines.append(f"  - {{name: {names[model]}, backend: openai, url: '{stubs[model].url}', "
                     f"capabilities: {caps}, priority: {priority}, cost_per_1k_tokens: {cost * 1000 / 14:.6g}, "
                     f"options: {{retries: 0, timeout_s: 2, connect_timeout_s: 1}}}}")
    lines.append(f"  - {{name: picker, path: '{learned_dir}', capabilities: [intent_classification]}}")
    return "\n".join(line for line in lines if line) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cadre_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "cadre.cli.main", *args]


class ServeProcess:
    """`cadre serve` in a subprocess on a free port, stopped at the end."""

    def __init__(self, config: Path, timeout: float = 90):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(cadre_cmd("serve", "--config", str(config), "--port", str(self.port),
                                               "--log-level", "warning"),
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        import httpx

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"cadre serve exited: {self.proc.stdout.read()}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("cadre serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
