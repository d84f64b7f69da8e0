"""Seed 004 ("Simplex Cognitive Models - Training Pipeline"): its quick and full test
commands (`./tests/run_tests.sh quick|all` are `make test` / `make test-all`), its LoRA
configuration, export and inference snippets (only the imports changed, and the tiny base
of tests/conftest.py in place of the Qwen hub name, which needs a download), and its
pilots in the specialist catalog.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make_commands(target: str) -> list[str]:
    """The commands `make TARGET` runs, without running them (the venv taken as built)."""
    out = subprocess.run(["make", "-n", "-o", "venv", "-o", ".venv/.installed", target], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if "pytest" in line]


def test_quick_and_full_test_commands():
    # seed 004, "Testing": "Run quick tests" / "Run all tests"
    quick, full = make_commands("test"), make_commands("test-all")
    assert quick == [".venv/bin/python -m pytest"]  # the default run: -m 'not slow' (pyproject)
    assert len(full) == 1 and shlex.split(full[0])[-2:] == ["-m", ""]  # an empty marker expression: every test
    from tomllib import loads

    addopts = loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    assert "-m 'not slow'" in addopts  # what makes `make test` quick, and what -m '' overrides
    readme = (REPO / "README.md").read_text()
    assert "make test " in readme and "make test-all" in readme


def test_the_full_run_selects_the_slow_tests_the_quick_run_leaves_out():
    collect = lambda *extra: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "pytest", "--collect-only", "-v", "tests/seeds", *extra],  # -v undoes addopts' -q
        cwd=REPO, capture_output=True, text=True, timeout=300).stdout
    quick, full = collect(), collect("-m", "")
    slow = "test_a_router_trained_with_the_seed_defaults_routes_the_seed_table"
    assert slow not in quick and slow in full


def test_lora_config_export_and_inference(tmp_path, tiny_base, monkeypatch):
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoTokenizer

    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    from transformers import AutoModelForCausalLM

    # seed 004, "LoRA (Low-Rank Adaptation)"
    config = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=8,              # Rank (8-32 based on task complexity)
        lora_alpha=16,    # Scaling factor
        lora_dropout=0.05,
        target_modules=["q_proj", "v_proj", "k_proj", "o_proj"],
    )
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_base), config)
    assert 0 < model.get_nb_trainable_parameters()[0] < model.get_nb_trainable_parameters()[1]

    # seed 004, "Model Export"
    # Save LoRA adapter
    model.save_pretrained("outputs/sentiment-specialist")

    # Merge with base (optional, increases size)
    merged_model = model.merge_and_unload()
    merged_model.save_pretrained("outputs/sentiment-merged")
    assert (tmp_path / "outputs/sentiment-specialist/adapter_config.json").is_file()
    assert (tmp_path / "outputs/sentiment-merged/config.json").is_file()

    # seed 004, "Inference"
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    # Load base + adapter
    base = AutoModelForCausalLM.from_pretrained(tiny_base)
    model = PeftModel.from_pretrained(base, "outputs/sentiment-specialist")

    # Inference
    prompt = "Analyze the sentiment of this review: Great product!"
    output = model.generate(tokenizer.encode(prompt, return_tensors="pt"), max_new_tokens=4)
    assert output.shape[1] > len(tokenizer.encode(prompt))


def test_the_seed_pilots_are_in_the_specialist_catalog():
    # seed 004, "Running Pilots": sentiment (recommended first) is a catalog specialist
    out = subprocess.run([sys.executable, "-m", "cadre.cli.main", "specialist", "list"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and any(line.split()[:2] == ["sentiment", "classification"]
                                       for line in out.stdout.splitlines())
