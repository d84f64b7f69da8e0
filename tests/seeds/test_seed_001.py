"""Seed 001 ("Specialized Model Routing System - Implementation Summary"): its own
snippets and files, only the import lines changed (`enigma_engine.core.inference.EnigmaEngine`
is `cadre.runtime.engine.Engine`, the `tool_router` module is `cadre.runtime.modules`'s),
against tiny models trained in the tests.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


ROUTER_QA = [("draw me a picture of a dog", "image"), ("paint a sunset over the hills", "image"),
             ("what do you see in this image", "vision"), ("describe the attached photo", "vision"),
             ("write a Python function", "code"), ("fix the bug in my script", "code"),
             ("how are you doing", "chat"), ("tell me a joke", "chat")]


def test_training_script_takes_the_seed_flags(tmp_path):
    # seed 001, "1. Training Infrastructure", on a small file in the seed's format and with
    # --epochs 2 instead of 50 to stay quick (seed 000's slow test trains the seed's defaults
    # on the bundled data), and an --output under tmp
    data = tmp_path / "router_training.txt"
    data.write_text("\n\n".join(f"Q: {q} ({i})\nA: [E:tool]{a}" for i in range(4) for q, a in ROUTER_QA) + "\n")
    out = tmp_path / "router"
    run = subprocess.run([sys.executable, str(REPO / "scripts/train_specialized_model.py"),
                          "--type", "router",
                          "--data", str(data),
                          "--model-size", "nano",
                          "--epochs", "2", "--output", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    meta = json.loads((out / "cadre.json").read_text())  # "Saves model metadata alongside weights"
    assert meta["type"] == "router" and meta["preset"] == "nano" and (out / "model.safetensors").is_file()
    assert {"chat", "code", "image", "vision"} <= set(meta["labels"])


def test_bundled_training_data_files_have_the_seed_formats():
    # seed 001, "5. Training Data Templates": router (100+), vision (30+), code (15+) examples
    from cadre.data.qa import load_qa

    router = load_qa(REPO / "data/specialized/router_training.txt")
    vision = load_qa(REPO / "data/specialized/vision_training.txt")
    code = load_qa(REPO / "data/specialized/code_training.txt")
    assert len(router) >= 100 and len(vision) >= 30 and len(code) >= 15
    assert {"chat", "image", "vision", "code"} <= {e.label for e in router}
    assert all(e.answer.startswith("[E:tool]") for e in router)
    assert all(e.question.startswith("[E:vision] ") for e in vision)


def test_inference_engine_integration(seed_project):
    # seed 001, "3. Inference Engine Integration"
    from cadre.runtime.engine import Engine as EnigmaEngine

    engine = EnigmaEngine(use_routing=True)
    response = engine.generate("write a sort function")  # Routes to code model
    assert response.route.name == "code" and "→ code" in response.reason
    # "Graceful degradation": no router model here, so the keyword rules decided
    assert response.reason.startswith("no router model → keyword code")
    engine.close()


def test_specialized_models_json_and_the_tool_router_module(tmp_path, monkeypatch, tiny_router_dir, seed_specialist):
    # seed 001, "6. Configuration System": information/specialized_models.json as the seed
    # writes it; a seed .pth path names the cadre checkpoint folder of the same stem
    import torch

    from cadre.runtime import registry, tool_router

    torch.set_num_threads(1)
    monkeypatch.delenv("CADRE_CONFIG", raising=False)
    monkeypatch.setattr(tool_router, "_ROUTERS", {})
    monkeypatch.setattr(registry, "_DEFAULT", None)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models/specialized").mkdir(parents=True)
    shutil.copytree(tiny_router_dir, tmp_path / "models/specialized/intent_router_nano")
    shutil.copytree(seed_specialist, tmp_path / "models/specialized/vision_caption_tiny")
    shutil.copytree(seed_specialist, tmp_path / "models/specialized/code_gen_small")
    (tmp_path / "information").mkdir()
    (tmp_path / "information/specialized_models.json").write_text(json.dumps({
        "enabled": True,
        "shared_tokenizer": "enigma_engine/vocab_model/bpe_vocab.json",
        "models": {
            "router": {"path": "models/specialized/intent_router_nano.pth", "size": "nano",
                       "description": "Classifies user intent", "max_seq_len": 256},
            "vision": {"path": "models/specialized/vision_caption_tiny.pth", "size": "tiny",
                       "description": "Generates descriptions from vision features", "max_seq_len": 512},
            "code": {"path": "models/specialized/code_gen_small.pth", "size": "small",
                     "description": "Generates and explains code", "max_seq_len": 1024},
        },
    }))
    from cadre.runtime.engine import Engine as EnigmaEngine

    engine = EnigmaEngine(use_routing=True)
    assert {"router", "vision", "code"} <= set(engine.model_names())
    # "4. Module System Integration": ID tool_router, provides intent_classification
    from cadre.runtime.modules import ModuleManager

    modules = ModuleManager(engine)
    router = modules.load("tool_router")
    assert modules.status()["tool_router"] == "loaded (router model router)"
    assert engine.manager.slots["router"].state == "loaded"
    # "Key methods": classify_intent(text) -> str, by the nano router model now
    assert router.classify_intent("write a python function to sort lists") == "code"
    assert router.route("write a python function to sort lists").reason.startswith("nano code")
    assert modules.unload("tool_router") and engine.manager.slots["router"].state == "unloaded"
    engine.close()
