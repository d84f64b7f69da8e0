"""Tiny LoRA adapters on the real SmolLM2-135M base, made in seconds: freshly initialised
rank-4 adapters on q_proj/v_proj whose B matrices are drawn at random (seeded), so each
adapter answers differently from the base and from its siblings."""
from __future__ import annotations

from pathlib import Path


def make_adapters(root: Path, names: list[str], scale: float = 0.3) -> dict[str, Path]:
    """One adapter folder per name (PEFT files + cadre.json `{"type": "lora", ...}`)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from cadre.checkpoint import write_metadata
    from cadre.pretrained import resolve_base

    base = resolve_base()
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    folders = {}
    for seed, name in enumerate(names):
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for pname, tensor in model.named_parameters():
                if "lora_B" in pname:
                    tensor.copy_(torch.randn(tensor.shape, generator=generator) * scale)
        folder = Path(root) / name
        model.save_pretrained(folder)
        write_metadata(folder, {"type": "lora", "base": "smollm2-135m-instruct", "base_path": base,
                                "specialist": name})
        folders[name] = folder
    return folders
