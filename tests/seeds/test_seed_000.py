"""Seed 000 ("Specialized Models Guide"): its own snippets, only the import lines changed,
against tiny models trained in the tests (tests/seeds/conftest.py) and the bundled data.

The seed's `ai_tester.core.inference.AITesterEngine` is `cadre.runtime.engine.Engine`,
`ai_tester.core.tool_router` is `cadre.runtime.tool_router`, and
`ai_tester.modules.manager.ModuleManager` is `cadre.runtime.modules.ModuleManager`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]

# The seed's "Router Training Data Format" table and the other examples it gives a route for.
SEED_TABLE = {
    "draw me a picture of a dog": "image",
    "draw me a cat": "image",
    "draw me a sunset": "image",
    "draw a cat": "image",
    "what do you see in this image": "vision",
    "write a Python function": "code",
    "write a Python function to sort a list": "code",
    "write a sort function": "code",
    "write a hello world function": "code",
    "how are you today": "chat",
    "how are you today?": "chat",
}
# Its "Example categories", each as the seed words it.
SEED_CATEGORIES = {
    "General conversation, questions, explanations": "chat",
    "Drawing, painting, illustration requests": "image",
    "What do you see": "vision",
    "describe this image": "vision",
    "Programming requests, debugging, refactoring": "code",
    "Animation, video generation": "video",
    "TTS, music generation": "audio",
}


def test_the_bundled_keyword_rules_route_the_seed_table_and_categories():
    from cadre.routing.intent.keyword import KeywordRouter

    rules = KeywordRouter.from_yaml()
    wrong = {text: rules.route(text).name for text, want in {**SEED_TABLE, **SEED_CATEGORIES}.items()
             if rules.route(text).name != want}
    assert not wrong, wrong


def test_in_python_code(seed_project):
    # seed 000, "Using Specialized Models / In Python Code"
    from cadre.runtime.engine import Engine as AITesterEngine

    # Enable routing with specialized models
    engine = AITesterEngine(use_routing=True)

    # Router automatically detects intent and routes to specialized model
    response = engine.generate("draw me a cat")  # Routes to image tool
    assert response.route.name == "image" and "enhance_prompt" in response.reason

    response = engine.generate("write a Python function to sort a list")  # Uses code model
    assert response.route.name == "code" and "generate_code → code" in response.reason

    response = engine.generate("how are you today?")  # Uses main chat model
    assert response.route.name == "chat" and response.model == "primary"
    engine.close()


def test_direct_router_usage(seed_project):
    # seed 000, "Direct Router Usage"
    from cadre.runtime.tool_router import get_router

    # Get router with specialized models
    router = get_router(use_specialized=True)

    # Classify intent
    intent = router.classify_intent("draw me a sunset")
    # Returns: "image"
    assert intent == "image"

    # Generate code
    code = router.generate_code("write a function to reverse a string")
    # Returns: Python code
    assert "def reverse_string" in code

    # Describe image (from features)
    description = router.describe_image("cat, sleeping, couch")
    # Returns: "There's a cat sleeping on a couch..."
    assert "cat" in description and "couch" in description


def test_module_manager(seed_project):
    # seed 000, "Integration with Module System"
    from cadre.runtime.modules import ModuleManager

    manager = ModuleManager()

    # Load tool router module (includes specialized models)
    manager.load('tool_router')

    # Router automatically uses specialized models if available
    assert manager.is_loaded("tool_router") and "keyword rules" in manager.status()["tool_router"]
    assert manager.load("tool_router").classify_intent("write a Python function") == "code"
    assert manager.load("code") == "code" and manager.is_loaded("code")
    with pytest.raises(Exception, match="unknown module 'nope'; modules: tool_router, primary"):
        manager.load("nope")


def test_api_reference_engine(seed_project):
    # seed 000, "API Reference / Python API": device='cuda' needs a GPU; without one it is
    # a one-line error and the same call runs on the CPU.
    import torch

    from cadre.errors import CadreError
    from cadre.runtime.engine import Engine as AITesterEngine

    if not torch.cuda.is_available():
        with pytest.raises(CadreError, match="there is no CUDA device 0 here"):
            AITesterEngine(use_routing=True, enable_tools=True, device='cuda')
    engine = AITesterEngine(
        use_routing=True,      # Enable specialized models
        enable_tools=True,     # Enable tool system
        device='cuda' if torch.cuda.is_available() else 'cpu'
    )

    response = engine.generate(
        prompt="write a sort function",
        max_gen=256,
        temperature=0.7
    )
    assert isinstance(response, str) and response.strip()
    assert engine.generate("write a sort function", max_tokens=4).model in ("code", "primary")  # cadre's own API
    engine.close()
    no_tools = AITesterEngine(use_routing=True, enable_tools=False)
    result = no_tools.generate("write a sort function", max_tokens=4)
    assert result.model == "primary" and result.reason.endswith("generate_code: tools disabled → primary")
    no_tools.close()


def test_example_workflow_prints_the_answer(seed_project, capsys):
    # seed 000, "Building a Multi-Model System", step 4 (the python -c body)
    from cadre.runtime.engine import Engine as AITesterEngine
    engine = AITesterEngine(use_routing=True)
    print(engine.generate('write a hello world function'))
    printed = capsys.readouterr().out.strip()
    assert printed and "EngineResult(" not in printed and "def hello" in printed


def test_model_not_found_says_how_to_train_it(tmp_path, tiny_causal_dir, seed_specialist):
    """Seed 000's "Model not found" troubleshooting: the CLI and HTTP both say the files
    are missing and give the `cadre train` command; HTTP names no server path."""
    from tests.seeds.seedkit import cadre_serve, project_yaml

    missing = tmp_path / "models" / "math_small"
    config = tmp_path / "cadre.yaml"
    config.write_text(project_yaml(tiny_causal_dir, seed_specialist, missing=missing))
    cli = subprocess.run([sys.executable, "-m", "cadre.cli.main", "models", "ask", "hi", "--model", "math",
                          "--config", str(config)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert cli.returncode == 2 and "model files are missing" in cli.stderr
    assert f"cadre train --type math --data YOUR_QA_FILE --output {missing}" in cli.stderr
    with cadre_serve(config, tmp_path) as base:
        reply = httpx.post(f"{base}/v1/chat/completions", timeout=120,
                           json={"model": "math", "messages": [{"role": "user", "content": "2+2"}]})
    body = reply.json()
    assert reply.status_code == 503 and body["error"]["code"] == "model_files_missing"
    assert "its files are missing" in body["error"]["message"] and "cadre train --type math" in body["error"]["message"]
    assert str(tmp_path) not in json.dumps(body) and "math_small" not in json.dumps(body)


@pytest.mark.slow
def test_a_router_trained_with_the_seed_defaults_routes_the_seed_table(tmp_path, tiny_causal_dir, seed_specialist,
                                                                        monkeypatch):
    """`cadre train --type router --data data/specialized/router_training.txt` (nano, 50
    epochs: the seed's defaults) routes the seed's table and categories."""
    from tests.seeds.seedkit import project_yaml

    out = tmp_path / "router"
    subprocess.run([sys.executable, "-m", "cadre.cli.main", "train", "--type", "router", "--data",
                    str(REPO / "data/specialized/router_training.txt"), "--output", str(out), "--quiet"],
                   check=True, cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "2"}, timeout=3600)
    config = tmp_path / "cadre.yaml"
    config.write_text(project_yaml(tiny_causal_dir, seed_specialist, router=out))
    from cadre.config import load_config
    from cadre.runtime.engine import Engine

    engine = Engine(load_config(config))
    choices = {text: engine.route(text) for text in {**SEED_TABLE, **SEED_CATEGORIES}}
    wrong = {t: c.reason for t, c in choices.items() if c.name != {**SEED_TABLE, **SEED_CATEGORIES}[t]}
    assert not wrong, wrong
    assert all(c.reason.startswith("nano") for t, c in choices.items() if t in SEED_TABLE)  # the model decided
    engine.close()
