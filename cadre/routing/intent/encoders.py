"""The sentence encoders an ensemble router can sit on, by the name saved in cadre.json:
MiniLM (accurate, ~9 ms a text on one core), static token vectors distilled from MiniLM
(`cadre.encoders.static`, ~0.05 ms) or none (TF-IDF alone)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from cadre.errors import CadreError

MINILM = "all-MiniLM-L6-v2"
STATIC = "static-minilm-256"
NONE = "none"
ENCODERS = (MINILM, STATIC, NONE)


def no_vectors(texts: Sequence[str]) -> np.ndarray:
    """Zero-width vectors (N, 0): a TF-IDF-only router."""
    return np.zeros((len(texts), 0), dtype=np.float32)


def make_encoder(name: str, table: np.ndarray | None = None) -> Callable[[Sequence[str]], np.ndarray]:
    """The encoder saved under `name`; `table` is a static encoder's stored token table."""
    if name == MINILM:
        from cadre.routing.intent.embedding import default_encoder

        return default_encoder
    if name == STATIC:
        from cadre.encoders.static import StaticEncoder

        return StaticEncoder(table)
    if name == NONE:
        return no_vectors
    raise CadreError(f"unknown sentence encoder {name!r}; use one of {', '.join(ENCODERS)}")
