"""What benchmarks/gateway_overhead.py stands up: a tiny nano router and a small learned
router (trained here, cached under runs/bench-gateway/), the cadre projects in front of
the stub upstream, and the LiteLLM proxy's config for the same stub.

The routers are trained on templated text, not a test set: they exist to put real router
inference on the request path, not to be accurate.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CUES = {
    "chat": ["how are you", "good morning", "tell me a story about", "what do you think of"],
    "code": ["write a python function to", "implement in rust", "write a sql query to", "fix this bug in"],
    "math": ["what is 12 times", "solve the equation", "compute 7 plus", "find the derivative of"],
    "summarize": ["summarize this article about", "give me a summary of", "tl;dr of", "condense"],
    "translate": ["translate into french", "say in spanish", "how do you say in german", "in italian"],
}
THINGS = ["a dog", "the sea", "my cat", "a castle", "two birds", "a red car", "the moon", "a tree"]
KEY = "sk-bench-0123456789abcdef0123456789abcdef"  # both gateways check a bearer key
PROMPTS = [f"{cue} {thing}" for cues in CUES.values() for cue in cues for thing in THINGS]


def nano_router(folder: Path) -> Path:
    """A nano intent router over CUES (trained once, a few seconds on one core)."""
    out = folder / "nano-router"
    if (out / "cadre.json").exists():
        return out
    import torch

    from cadre.training.trainer import TrainConfig, Trainer

    rng = random.Random(0)
    blocks = [f"Q: {rng.choice(cues)} {rng.choice(THINGS)} {i}\nA: [E:tool]{label}"
              for label, cues in CUES.items() for i in range(24)]
    rng.shuffle(blocks)
    data = folder / "router.txt"
    data.write_text("\n\n".join(blocks) + "\n")
    torch.set_num_threads(1)
    Trainer(TrainConfig(quiet=True, seed=1, batch_size=16, type="router", data=[str(data)],
                        model_size="nano", epochs=4, lr=3e-3, output=str(out))).train()
    return out


def learned_router(folder: Path) -> Path:
    """A linear learned router choosing between `stub-small` and `stub-large` (fit once
    with `cadre router fit-learned` on a templated routing table)."""
    out = folder / "learned-router"
    if (out / "cadre.json").exists():
        return out
    rng = random.Random(0)
    rows = []
    for label, cues in CUES.items():
        for i in range(30):
            hard = label in ("code", "math")
            rows.append({"prompt": f"{rng.choice(cues)} {rng.choice(THINGS)} {i}",
                         "model_scores": {"stub-small": 0 if hard and rng.random() < 0.8 else 1,
                                          "stub-large": 1},
                         "model_costs": {"stub-small": 0.001, "stub-large": 0.01}})
    table = folder / "routing-table.jsonl"
    table.write_text("".join(json.dumps(r) + "\n" for r in rows))
    subprocess.run([sys.executable, "-m", "cadre.cli.main", "router", "fit-learned", "--data", str(table),
                    "--output", str(out), "--kind", "linear", "--folds", "2", "--threads", "1"],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return out


def _remote(name: str, url: str, capabilities: str, pinned: bool = False) -> str:
    pin = ", pinned: true" if pinned else ""
    return (f"  - {{name: {name}, backend: openai, url: \"{url}\", capabilities: [{capabilities}],"
            f" options: {{model: stub}}{pin}}}\n")


def nano_project(folder: Path, url: str, router: Path) -> Path:
    """Named model `stub`, and model=auto through the nano router; every route → stub."""
    routes = ", ".join(f"{r}: {{model: stub}}" for r in [*CUES, "vision", "image"])
    text = ("version: 1\nruntime: {memory_budget: 2GB}\n"
            f"router: {{model: router}}\nroutes: {{{routes}}}\nmodels:\n"
            + _remote("stub", url, "primary_chat", pinned=True)
            + f"  - {{name: router, backend: onnx, path: \"{router}\", capabilities: [intent_classification]}}\n")
    path = folder / "cadre-nano.yaml"
    path.write_text(text)
    return path


def learned_project(folder: Path, url: str, router: Path) -> Path:
    """model=auto through the learned router, choosing stub-small or stub-large."""
    text = ("version: 1\nruntime: {memory_budget: 2GB}\n"
            "router: {model: learned, keyword_fallback: false}\n"
            "routes: {stub-small: {model: stub-small}, stub-large: {model: stub-large}}\nmodels:\n"
            + _remote("stub-large", url, "primary_chat", pinned=True) + _remote("stub-small", url, "summarization")
            + f"  - {{name: learned, backend: onnx, path: \"{router}\", capabilities: [intent_classification]}}\n")
    path = folder / "cadre-learned.yaml"
    path.write_text(text)
    return path


def litellm_config(folder: Path, url: str) -> Path:
    """LiteLLM proxy with one model, `stub`, at the same upstream."""
    path = folder / "litellm.yaml"
    path.write_text("model_list:\n  - model_name: stub\n    litellm_params:\n"
                    f"      model: openai/stub\n      api_base: {url}\n      api_key: sk-stub\n"
                    "litellm_settings:\n  drop_params: true\n  telemetry: false\n"
                    f"general_settings:\n  disable_spend_logs: true\n  master_key: {KEY}\n")
    return path
