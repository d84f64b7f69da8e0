"""Llama-architecture Hugging Face models built from a preset, and the checkpoint folder
(config.json, model.safetensors, tokenizer.json, cadre.json) they are saved in.

`AutoModelForCausalLM.from_pretrained(folder)` (or `AutoModelForSequenceClassification`)
loads any folder written here.
"""
from __future__ import annotations

from pathlib import Path

from cadre.checkpoint import check_complete, load_safetensors, read_metadata, write_metadata
from cadre.errors import CadreError
from cadre.presets import Preset

CAUSAL, CLASSIFIER = "causal", "classifier"


def llama_config(preset: Preset, vocab_size: int, num_labels: int | None = None,
                 pad_id: int = 0, bos_id: int = 1, eos_id: int = 2):
    """A LlamaConfig for a preset; `num_labels` makes it a sequence classifier config."""
    from transformers import LlamaConfig

    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=preset.d_model, intermediate_size=preset.d_ff,
        num_hidden_layers=preset.n_layer, num_attention_heads=preset.n_head,
        num_key_value_heads=preset.n_kv_head, max_position_embeddings=preset.context,
        tie_word_embeddings=True, pad_token_id=pad_id, bos_token_id=bos_id, eos_token_id=eos_id,
        rms_norm_eps=1e-5, attention_dropout=0.0,
    )
    if num_labels is not None:
        config.num_labels = num_labels
    return config


def build_model(preset: Preset, vocab_size: int, num_labels: int | None = None, **ids):
    """A freshly initialised causal LM, or a sequence classifier when num_labels is given."""
    from transformers import LlamaForCausalLM, LlamaForSequenceClassification

    config = llama_config(preset, vocab_size, num_labels, **ids)
    cls = LlamaForSequenceClassification if num_labels else LlamaForCausalLM
    return cls(config)


def count_parameters(preset: Preset, vocab_size: int | None = None) -> int:
    """Parameters of the preset's causal LM, measured from a real model on the meta device."""
    import torch

    from cadre.presets import DEFAULT_VOCAB_SIZE

    with torch.device("meta"):
        model = build_model(preset, vocab_size or DEFAULT_VOCAB_SIZE)
    return sum(p.numel() for p in model.parameters())  # tied embeddings are counted once


def save_checkpoint(folder: str | Path, model, tokenizer_json: str, meta: dict) -> None:
    """Write the checkpoint files into an (already temporary) folder.

    `tokenizer_json` is the tokenizer's text as read when training started, so a tokenizer
    file rebuilt mid-run never ends up beside weights trained with the old one.
    """
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    hf_logging.disable_progress_bar()  # one progress bar (the trainer's) is enough
    model.save_pretrained(folder)
    (folder / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
    write_metadata(folder, meta)


def load_checkpoint(folder: str | Path, device: str = "cpu", **load_kwargs):
    """Load a cadre checkpoint: returns (model, metadata). Corrupt files get a clear error.
    `load_kwargs` go to `from_pretrained` (a 4-bit load places the model itself)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

    folder = Path(folder)
    meta = read_metadata(folder)
    check_complete(folder)
    load_safetensors(folder / "model.safetensors")  # validates the file before transformers does
    try:
        config = AutoConfig.from_pretrained(folder)
        auto = AutoModelForSequenceClassification if meta.get("task_kind") == CLASSIFIER else AutoModelForCausalLM
        model = auto.from_pretrained(folder, config=config, **load_kwargs)
    except (OSError, ValueError, RuntimeError) as exc:
        raise CadreError(f"{folder}: cannot load model ({str(exc).splitlines()[0]})") from None
    if meta.get("task_kind") == CLASSIFIER and len(meta["labels"]) != model.config.num_labels:
        raise CadreError(f"{folder}: cadre.json names {len(meta['labels'])} labels but the model has "
                         f"{model.config.num_labels} outputs")
    return (model if "device_map" in load_kwargs else model.to(device)).eval(), meta


def open_checkpoint(model_dir: str | Path, **load_kwargs):
    """(model, metadata, encoder) for a checkpoint, using the tokenizer stored beside it."""
    from cadre.encoding import ExampleEncoder
    from cadre.tokenizer import load_tokenizer

    model, meta = load_checkpoint(model_dir, **load_kwargs)
    tok = load_tokenizer(str(Path(model_dir) / "tokenizer.json"))
    return model, meta, ExampleEncoder(tok, model.config.max_position_embeddings)
