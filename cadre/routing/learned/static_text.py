"""The learned router's fast text views: static token vectors instead of a MiniLM forward.

The token table is the `fast` intent kind's (cadre.encoders.static: every vocabulary
token's MiniLM vector, PCA to 256 dimensions, SIF-weighted), rounded to float16 so the
copy a router saves is small and fitting sees exactly what serving will. A text's vector
is the sum of its tokens' rows, L2-normalised (the mean's direction).

Few-shot prompts repeat their worked examples, and MiniLM's WordPiece splits on
whitespace, so a prompt's token sum is the sum of its blank-line-separated blocks' sums.
`BlockEncoder` keeps each block's sum in an LRU cache keyed by the block's text: a
prompt that shares its examples with earlier ones tokenizes only its new blocks.
The views are the same as the MiniLM featurizer's: `focus` (the last question block,
widened backwards to some substance) and `pooled` (the whole prompt).
"""
from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

STATIC_DIM = 256
CACHE_BLOCKS = 8192
_MIN_FOCUS_CHARS = 40
_BLANK_LINE = re.compile(r"\n\s*\n")


def blocks(prompt: str) -> list[str]:
    """Blank-line-separated blocks of a prompt, stripped (the prompt itself if none)."""
    out = [b.strip() for b in _BLANK_LINE.split(prompt) if b.strip()]
    return out or [prompt]


def focus_start(parts: Sequence[str]) -> int:
    """Index of the first block of the focus: the last block, widened backwards until it
    has at least 40 characters (the same rule as `features.focus_text`)."""
    start, size = len(parts) - 1, len(parts[-1])
    while start > 0 and size < _MIN_FOCUS_CHARS:
        start -= 1
        size += len(parts[start]) + 2
    return start


def shared_table() -> np.ndarray:
    """The distilled token table as float16-rounded float32, (vocab, 256)."""
    from cadre.encoders.static import load_table

    return np.asarray(load_table(), np.float16).astype(np.float32)


def table_digest(table: np.ndarray) -> str:
    """A short hash of a token table (part of the feature cache key)."""
    return hashlib.sha256(np.ascontiguousarray(table, np.float16).tobytes()).hexdigest()[:16]


class BlockEncoder:
    """Token-sum vectors of prompt blocks with an LRU cache, and the focus/pooled views."""

    def __init__(self, table: np.ndarray, cache_blocks: int = CACHE_BLOCKS):
        from cadre.encoders.static import load_tokenizer

        self.table = np.asarray(table, np.float32)  # (V, D)
        self.digest = table_digest(self.table)
        self.tok = load_tokenizer()
        self.cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.cache_blocks = cache_blocks
        self._lock = threading.Lock()  # the gateway may route from several threads

    def block_sums(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """{block text: sum of its token vectors (D,)}, tokenizing only uncached blocks."""
        out, todo = {}, []
        with self._lock:
            for t in dict.fromkeys(texts):
                hit = self.cache.get(t)
                if hit is None:
                    todo.append(t)
                else:
                    self.cache.move_to_end(t)
                    out[t] = hit
        if todo:
            out.update(zip(todo, self._sums(todo)))
            with self._lock:
                for t in todo:
                    self.cache[t] = out[t]
                while len(self.cache) > self.cache_blocks:
                    self.cache.popitem(last=False)
        return out

    def _sums(self, texts: list[str]) -> np.ndarray:
        """Token-vector sums of texts, (B, D): one sparse count matrix times the table."""
        from scipy.sparse import csr_matrix

        vocab = len(self.table)
        encs = self.tok.encode_batch(texts, add_special_tokens=False) if len(texts) > 1 \
            else [self.tok.encode(texts[0], add_special_tokens=False)]
        ids = [np.asarray(e.ids, np.int64) for e in encs]
        ids = [i[i < vocab] for i in ids]
        indptr = np.cumsum([0] + [len(i) for i in ids])
        counts = csr_matrix((np.ones(indptr[-1], np.float32), np.concatenate(ids) if ids else [],
                             indptr), shape=(len(texts), vocab))
        return np.asarray(counts @ self.table, np.float32)

    def views(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(focus (N, D), pooled (N, D)) unit vectors of prompts."""
        parts = [blocks(p) for p in prompts]
        sums = self.block_sums([b for ps in parts for b in ps])
        focus = np.zeros((len(prompts), self.table.shape[1]), np.float32)
        pooled = np.zeros_like(focus)
        for i, ps in enumerate(parts):
            vecs = [sums[b] for b in ps]
            focus[i] = np.sum(vecs[focus_start(ps):], axis=0)
            pooled[i] = np.sum(vecs, axis=0)
        return _unit(focus), _unit(pooled)


def _unit(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-9)


@functools.lru_cache(maxsize=1)
def default_encoder() -> BlockEncoder:
    """The BlockEncoder over the distilled table (fitting uses it; a router keeps its own)."""
    return BlockEncoder(shared_table())
