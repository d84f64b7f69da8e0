"""4-bit weights for local models: bitsandbytes NF4, on the CPU (bitsandbytes' own CPU
kernels, bitsandbytes >= 0.46) and on CUDA. Linear layers hold 4-bit weights and compute
in float32 on the CPU, bfloat16 on a GPU; embeddings and norms stay as they are.

    quantization: 4bit        # in a cadre.yaml model entry
"""
from __future__ import annotations

from cadre.errors import CadreError

INSTALL = "pip install bitsandbytes==0.50.2"


def unavailable(device: str = "cpu") -> str | None:
    """Why 4-bit loading cannot run on `device` here, or None when it can."""
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return f"4bit quantization needs bitsandbytes ({INSTALL})"
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        return "4bit on cuda needs a CUDA device"
    return None


def load_kwargs(device: str) -> dict:
    """`from_pretrained` keywords for an NF4 load placed whole on `device`."""
    why = unavailable(device)
    if why:
        raise CadreError(why)
    import torch
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if device.startswith("cuda") else torch.float32
    config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute)
    return {"quantization_config": config, "device_map": {"": device}}


def is_4bit(model) -> bool:
    """Whether a model holds bitsandbytes 4-bit Linear layers."""
    try:
        from bitsandbytes.nn import Linear4bit
    except ImportError:
        return False
    return any(isinstance(m, Linear4bit) for m in model.modules())


def fit_cpu_kernels(model):
    """The model, with bitsandbytes' AVX512-BF16 CPU path turned off for the layers it breaks.

    On a CPU with AVX512-BF16, bitsandbytes 0.50.2 repacks each Linear4bit's weights at its
    first forward, assuming in_features is a multiple of the quantisation block (64); any
    other layer fails there ("shape '[96, 1]' is invalid for input of size 144"). Those layers
    keep the plain dequantise-and-matmul path, which every CPU runs.
    """
    try:
        from bitsandbytes.nn import Linear4bit
    except ImportError:
        return model
    for layer in model.modules():
        if isinstance(layer, Linear4bit):
            blocksize = getattr(layer.weight.quant_state, "blocksize", 64) or 64
            if layer.in_features % blocksize:
                layer.support_avx512bf16_for_cpu = False
    return model
