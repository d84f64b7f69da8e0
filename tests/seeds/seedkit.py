"""Helpers of the seed tests (tests/seeds/test_seed_00N.py); the fixtures are in conftest.py.

Each seed test runs its seed's own snippets, copied into the test with only the import
lines changed, against tiny models trained here: `seed_specialist`, a nano checkpoint
trained on seed 000's own Q/A examples (code and `[E:vision]` captions), serves as the
code model and the vision captioner; `tiny_causal_dir` (tests/conftest.py) is the
primary. Nothing is read from /work/shared.
"""
from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

# Seed 000's own training examples (its "Code Training Data Format" and "Vision Training
# Data Format" blocks), the code answers without their fences so that a nano model
# learns them in a few seconds.
SEED_QA = [
    ("write a Python function to sort a list", "def sort_list(items):\n    return sorted(items)"),
    ("create a function to reverse a string", "def reverse_string(text):\n    return text[::-1]"),
    ("write a function to reverse a string", "def reverse_string(text):\n    return text[::-1]"),
    ("write a hello world function", "def hello():\n    print('hello world')"),
    ("[E:vision] person, outdoors, smiling, grass", "I see a person outdoors who is smiling, standing in grass."),
    ("[E:vision] cat, sleeping, couch", "There's a cat sleeping on a couch."),
    ("[E:vision] sunset, ocean, orange sky, clouds", "The image shows a beautiful sunset over the ocean with an orange sky and clouds."),
]


def write_qa(path, pairs, repeats: int = 1, seed: int = 0):
    """Q/A blocks in the seeds' text format (each pair `repeats` times, shuffled)."""
    blocks = [f"Q: {q}\nA: {a}" for _ in range(repeats) for q, a in pairs]
    random.Random(seed).shuffle(blocks)
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def train(**kw):
    import torch

    from cadre.training.trainer import TrainConfig, Trainer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Trainer(TrainConfig(quiet=True, seed=1, **kw)).train()
    finally:
        torch.set_num_threads(threads)


def project_yaml(primary, specialist, router=None, missing=None) -> str:
    """A project: the tiny primary, the seed specialist as code model and captioner
    (force: true, since no scoreboard has run), an optional router and a missing model."""
    text = f"""\
version: 1
runtime: {{memory_budget: 1GB, device: cpu}}
models:
  - {{name: primary, path: "{primary}", memory_mb: 60, pinned: true,
     capabilities: [primary_chat, summarization, translation, prompt_enhancement]}}
  - {{name: code, path: "{specialist}", capabilities: [code_generation], priority: 100, force: true}}
  - {{name: vision, path: "{specialist}", capabilities: [vision_captioning], priority: 100, force: true}}
"""
    if router:
        text += f"""  - {{name: router, backend: onnx, path: "{router}", capabilities: [intent_classification], priority: 100}}
"""
    if missing:
        text += f"""  - {{name: math, path: "{missing}", capabilities: [math], priority: 100}}
"""
    return text + ("router: {model: router}\n" if router else "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def cadre_serve(config, cwd):
    """`cadre serve --config CONFIG` as a subprocess on a free port; yields its base URL."""
    import httpx

    port = free_port()
    log = open(cwd / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config),
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ), cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise RuntimeError(f"cadre serve did not start: {log.read()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
