"""Seed 002 ("Multi-Tier Model Architecture"): its own snippets, only the import lines
changed (`airunner...model_capabilities` is `cadre.runtime.registry`,
`LLMModelManager` is `cadre.runtime.manager.ModelManager`, the roadmap calls are in
`cadre.runtime.placement` and `cadre.runtime.planner`), against tiny models trained in the
tests. Also its 4-bit quantization and the memory planner (`cadre models plan`).
"""
from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_model_registry_lookup(seed_project):
    # seed 002, "Configuration / Model Registry"
    from cadre.runtime.registry import (
        ModelCapability,
        get_model_for_capability,
    )

    # Get the prompt enhancement model
    spec = get_model_for_capability(ModelCapability.PROMPT_ENHANCEMENT)
    print(spec.model_path)  # "Qwen/Qwen2.5-3B-Instruct"
    print(spec.gpu_memory_gb)  # 2.0
    assert spec.name == "primary" and Path(spec.model_path).is_dir() and spec.gpu_memory_gb == 0.06


def test_adding_new_models(seed_project, seed_specialist):
    # seed 002, "Adding New Models" (the path is a real tiny model, so it can load)
    from cadre.runtime.registry import ModelCapability, get_model_for_capability
    from cadre.runtime.seed_registry import CAPABILITY_TO_MODEL, MODEL_REGISTRY
    from cadre.runtime.seed_registry import seed_model_spec as ModelSpec

    assert get_model_for_capability(ModelCapability.PROMPT_ENHANCEMENT).name == "primary"
    MODEL_REGISTRY[str(seed_specialist)] = ModelSpec(
        model_path=str(seed_specialist),
        capabilities=[
            ModelCapability.PROMPT_ENHANCEMENT,
        ],
        max_context=32768,
        supports_function_calling=False,
        quantization="4bit",
        gpu_memory_gb=2.5,
        priority=40,
    )

    CAPABILITY_TO_MODEL[ModelCapability.PROMPT_ENHANCEMENT] = str(seed_specialist)
    spec = get_model_for_capability(ModelCapability.PROMPT_ENHANCEMENT)
    assert spec.model_path == str(seed_specialist) and spec.gpu_memory_gb == 2.5 and spec.quantization == "4bit"
    assert spec.priority > 50  # raised above the primary's, so the lookup gives it


def test_one_shot_and_manual_model_management(seed_project):
    from typing import Any

    from cadre.runtime.manager import ModelManager as LLMModelManager
    from cadre.runtime.registry import ModelCapability

    # seed 002, "Method 1: One-Shot Generation"
    def my_tool(prompt: str, api: Any = None) -> str:
        manager = LLMModelManager()

        # Load specialized model, generate, auto-restore primary
        result = manager.use_specialized_model(
            ModelCapability.PROMPT_ENHANCEMENT,
            prompt="Enhance this: " + prompt,
            max_tokens=256,
        )

        return result

    assert isinstance(my_tool("a cat"), str)

    # seed 002, "Method 2: Manual Model Management"
    def complex_tool(data: dict, api: Any = None) -> str:
        manager = LLMModelManager()

        # Load specialized model
        model = manager.load_specialized_model(
            ModelCapability.CODE_GENERATION,
            return_to_primary=True  # Auto-restore after
        )

        if not model:
            return "Failed to load code generator"

        # Use model multiple times
        result1 = model.invoke("Write a function to...")
        result2 = model.invoke("Now add error handling...")

        # Primary model automatically restored when method returns
        return result1 + "\n\n" + result2

    answer = complex_tool({})
    assert answer != "Failed to load code generator" and "\n\n" in answer

    # seed 002, "Migration Guide / After"
    from cadre.runtime.tool_router import use_specialized_model
    enhanced = use_specialized_model(
        ModelCapability.PROMPT_ENHANCEMENT,
        "Enhance: a cat"
    )
    assert isinstance(enhanced, str)


def test_roadmap_keep_in_memory_and_assign_device(seed_project):
    import torch

    from cadre.errors import CadreError
    from cadre.runtime.placement import assign_device, keep_in_memory
    from cadre.runtime.registry import ModelCapability
    from cadre.runtime.tool_router import get_router

    manager = get_router().engine.manager
    # seed 002, "Future Enhancements / Smart Caching" (the body of its `if`)
    keep_in_memory([
        ModelCapability.CODE_GENERATION,
    ])
    slot = manager.slots["code"]
    assert slot.spec.pinned and slot.state == "loaded" and manager.registry.get("code").pinned
    assert manager.reap() == [] and slot.state == "loaded"  # pinned: keep_alive never unloads it

    # seed 002, "Multi-GPU Support"
    if torch.cuda.device_count() >= 2:
        # Primary on GPU 0, specialized on GPU 1
        assign_device(ModelCapability.PRIMARY_CONVERSATION, "cuda:0")
        assign_device(ModelCapability.PROMPT_ENHANCEMENT, "cuda:1")
    else:  # the same calls name a device this machine lacks: one clear error
        with pytest.raises(CadreError, match="there is no CUDA device 1 here"):
            assign_device(ModelCapability.PROMPT_ENHANCEMENT, "cuda:1")
    # moving a loaded, idle model unloads it; its next load lands on the new device
    assert assign_device(ModelCapability.CODE_GENERATION, "cpu") == "code"
    assert manager.slots["code"].device == "cpu"
    with pytest.raises(CadreError, match="device must be auto, cpu or cuda"):
        assign_device(ModelCapability.CODE_GENERATION, "gpu")


def test_auto_assign_models(seed_project):
    # seed 002, "Capability Auto-Detection"
    from cadre.runtime.planner import auto_assign_models

    plan = auto_assign_models(max_vram=8)
    # Chooses best models that fit in 8GB
    assert set(plan.names) == {"primary", "code", "vision"} and plan.total_bytes <= 8e9
    assert plan.capabilities()["code_generation"] == "code" and "always chosen" in plan.chosen[0].why


# ------------------------------------------------------------------ the planner


def _scored_copy(src: Path, dest: Path, score: float, primary: float = 0.5) -> Path:
    shutil.copytree(src, dest)
    meta = json.loads((dest / "cadre.json").read_text())
    from cadre.evaluation.evidence import compare

    s, p = round(score * 100), round(primary * 100)  # paired over 100 examples, as the scoreboard records
    meta["scoreboard"] = {"score": score, "primary_score": primary, "metric": "pass@1", "route": "code",
                          "evidence": compare([1.0] * s + [0.0] * (100 - s), [1.0] * p + [0.0] * (100 - p))}
    (dest / "cadre.json").write_text(json.dumps(meta))
    return dest


def test_plan_is_the_best_set_that_fits_by_the_stated_rule(tmp_path, tiny_causal_dir, seed_specialist):
    from cadre.config import ModelEntry, ProjectConfig
    from cadre.runtime.planner import RULE, auto_assign_models, planned_bytes, value, Candidate
    from cadre.runtime.registry import Registry

    good = _scored_copy(seed_specialist, tmp_path / "code_good", 0.8)
    fair = _scored_copy(seed_specialist, tmp_path / "code_fair", 0.6)
    poor = _scored_copy(seed_specialist, tmp_path / "code_poor", 0.3)  # loses to the primary
    entry = lambda name, path, caps, mb, **kw: ModelEntry(name=name, path=str(path), capabilities=caps,  # noqa: E731
                                                          memory_mb=mb, **kw)
    project = ProjectConfig(models=[
        entry("primary", tiny_causal_dir, ["primary_chat", "summarization"], 600),
        entry("code_big", good, ["code_generation"], 800, priority=100),
        entry("code_small", fair, ["code_generation"], 300, priority=100),
        entry("code_poor", poor, ["code_generation"], 50, priority=100),
        entry("vision", seed_specialist, ["vision_captioning"], 500, priority=100, force=True),
        entry("math", tmp_path / "never-trained", ["math"], 10, priority=100),
    ])
    plan = auto_assign_models("1.5GB", config=project)
    # 900 MB after the primary: the small code model and the captioner cover two
    # capabilities; the big code model alone (higher score) covers one
    assert plan.names == ["primary", "code_small", "vision"] and plan.total_bytes <= 1.5e9
    why = {c.spec.name: c.why for c in plan.left_out}
    assert why["code_big"].startswith("does not fit") and "would not serve" in why["code_poor"]
    assert "model files are missing" in why["math"] and plan.rule == RULE
    # the best by the rule among every subset that fits (checked by enumeration)
    registry = Registry.from_config(project)
    pool = [Candidate(s, planned_bytes(s), score) for s, score in
            ((registry.get(n), sc) for n, sc in (("code_big", 0.8), ("code_small", 0.6), ("vision", None)))]
    primary = Candidate(registry.get("primary"), planned_bytes(registry.get("primary")))
    fitting = [[primary, *sub] for n in range(4) for sub in itertools.combinations(pool, n)
               if sum(c.bytes for c in (primary, *sub)) <= 1.5e9]
    best = max(fitting, key=value)
    assert [c.spec.name for c in best] == plan.names
    # with room for both code models, the higher recorded score serves code
    roomy = auto_assign_models(3, config=project)
    assert roomy.capabilities()["code_generation"] == "code_big" and "code_small" not in roomy.names


def test_models_plan_cli_on_the_example_project(tmp_path, tiny_router_dir, seed_specialist):
    """`cadre models plan --budget 2GB --config configs/cadre.yaml` with the example
    project's runs/demo models in place (tiny ones)."""
    shutil.copy(REPO / "configs/cadre.yaml", tmp_path / "cadre.yaml")
    (tmp_path / "runs/demo").mkdir(parents=True)
    shutil.copytree(tiny_router_dir, tmp_path / "runs/demo/router")
    for name in ("vision", "code"):
        _scored_copy(seed_specialist, tmp_path / f"runs/demo/{name}", 0.9)
    # the LoRA specialists' entries: those shipped in data/adapters are there, the rest missing
    from cadre.config import load_config

    lora = [m.name for m in load_config(tmp_path / "cadre.yaml").models if str(m.path).startswith("data/adapters/")]
    shipped = [n for n in lora if (REPO / "data/adapters" / n / "cadre.json").is_file()]
    for name in shipped:
        shutil.copytree(REPO / "data/adapters" / name, tmp_path / "data/adapters" / name)
    cli = [sys.executable, "-m", "cadre.cli.main", "models", "plan", "--config", "cadre.yaml"]
    run = subprocess.run([*cli, "--budget", "2GB"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"budget 2.0 GB: {4 + len(shipped)} of {4 + len(lora)} models"), run.stdout
    assert "rule: primary always" in run.stdout
    assert "+ smollm2" in run.stdout and "the primary: always chosen" in run.stdout
    assert "serves code_generation (priority 100, score 0.90)" in run.stdout
    tight = subprocess.run([*cli, "--budget", "620MB", "--json"], capture_output=True, text=True, cwd=tmp_path,
                           timeout=300)
    plan = json.loads(tight.stdout)
    assert plan["total_bytes"] <= 620e6 and plan["chosen"][0]["name"] == "smollm2"
    assert any(row["why"].startswith("does not fit") for row in plan["left_out"])
    bad = subprocess.run([*cli, "--budget", "lots"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("error: 'lots' is not a size")


# ------------------------------------------------------------------ 4-bit


def test_4bit_is_one_rule_in_the_yaml_and_in_model_spec(tmp_path):
    from cadre.config import load_config
    from cadre.errors import CadreError
    from cadre.runtime.registry import ModelCapability, ModelSpec

    # seed 002, "Adding New Models" (MODEL_REGISTRY is cadre.yaml's models list here)
    spec = ModelSpec(name="my-model/path", path="my-model/path",
                     capabilities=(ModelCapability.PROMPT_ENHANCEMENT,), max_context=32768,
                     supports_function_calling=False, quantization="4bit", memory_mb=2500, priority=90)
    assert spec.quantization == "4bit" and spec.gpu_memory_gb == 2.5
    with pytest.raises(CadreError, match="quantization must be one of int8, 4bit"):
        ModelSpec(name="x", quantization="3bit")
    good = tmp_path / "good.yaml"
    good.write_text("models:\n  - {name: p, path: smollm2-135m-instruct, capabilities: [primary_chat], quantization: 4bit}\n")
    assert load_config(good).models[0].quantization == "4bit"
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - {name: p, path: smollm2-135m-instruct, capabilities: [primary_chat], quantization: 3bit}\n")
    with pytest.raises(CadreError, match="models\\[0\\].quantization: .*quantization must be one of int8, 4bit"):
        load_config(bad)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_model_loads_in_4bit_where_the_backend_exists(device, seed_specialist):
    import torch

    from cadre.runtime.backends.local import LocalBackend
    from cadre.runtime.backends.quant4 import is_4bit, unavailable
    from cadre.runtime.registry import ModelCapability, ModelSpec

    why = unavailable(device)
    if why:
        pytest.skip(why)
    torch.set_num_threads(1)
    spec = lambda q: ModelSpec(name="code", path=str(seed_specialist), quantization=q,  # noqa: E731
                               capabilities=(ModelCapability.CODE_GENERATION,))
    full, four = LocalBackend(spec(None), device), LocalBackend(spec("4bit"), device)
    full.load()
    four.load()
    assert is_4bit(four.model) and not is_4bit(full.model)
    linear = four.model.model.layers[0].self_attn.q_proj
    assert type(linear).__name__ == "Linear4bit" and linear.weight.dtype == torch.uint8
    assert linear.weight.quant_state.quant_type == "nf4"
    assert four.tensor_bytes() < full.tensor_bytes()
    assert four.estimate_bytes() < full.estimate_bytes()
    assert "def reverse_string" in four.invoke("write a function to reverse a string", max_tokens=16)


def test_4bit_layers_off_the_block_grid_run_on_every_cpu():
    """bitsandbytes' AVX512-BF16 repacking breaks a layer whose width is not a multiple of its
    block (64); such layers keep the dequantise path, the others keep the fast one."""
    from cadre.runtime.backends.quant4 import fit_cpu_kernels, unavailable

    if why := unavailable("cpu"):
        pytest.skip(why)
    import torch
    from bitsandbytes.functional import has_avx512bf16
    from bitsandbytes.nn import Linear4bit, Params4bit

    torch.manual_seed(0)
    for width, packed in ((96, False), (128, has_avx512bf16())):
        dense = torch.nn.Linear(width, 64)
        four = Linear4bit(width, 64, compute_dtype=torch.float32, quant_type="nf4")
        four.weight = Params4bit(dense.weight.data.clone(), requires_grad=False, quant_type="nf4")
        four.bias = torch.nn.Parameter(dense.bias.data.clone(), requires_grad=False)
        four = fit_cpu_kernels(four.to("cpu").eval())
        assert bool(four.support_avx512bf16_for_cpu) == packed
        x = torch.randn(3, width)
        with torch.no_grad():
            want, got = dense(x), four(x)
        assert (got - want).abs().max() < 0.25 * want.abs().max()  # NF4's own error, not a broken layout
