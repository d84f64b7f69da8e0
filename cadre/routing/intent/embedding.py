"""The `embedding` router: all-MiniLM-L6-v2 sentence vectors (`cadre.encoders.text`)
with one of two scorers:

- `head`: a trained softmax head, logistic regression or a one-hidden-layer MLP, whose
  weights are saved as safetensors (numpy at inference; no torch needed to score);
- `nearest`: semantic-router style, a route's score is the highest cosine similarity
  between the text and that route's example utterances, with per-route thresholds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing.base import Route, Router, register_router
from cadre.routing.store import canonical_labels

HEAD_FILE = "head.safetensors"
MODES = ("head", "nearest")


def default_encoder(texts: Sequence[str]) -> np.ndarray:
    """MiniLM vectors, (N, 384), L2-normalised."""
    from cadre.encoders.text import encode_texts

    return encode_texts(list(texts))


class EmbeddingRouter(Router):
    """MiniLM + a softmax head, or nearest utterance; `weights` holds the numpy arrays."""

    def __init__(self, labels, mode: str, weights: dict[str, np.ndarray],
                 encoder: Callable[[Sequence[str]], np.ndarray] | None = None,
                 utterances: dict[str, list[str]] | None = None, **kwargs):
        if mode not in MODES:
            raise CadreError(f"unknown embedding router mode {mode!r}; use {' or '.join(MODES)}")
        super().__init__(canonical_labels(labels), **kwargs)
        self.mode, self.weights = mode, {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.encoder = encoder or default_encoder
        self.utterances = utterances or {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence vectors, (N, D)."""
        return self.encoder([t if t.strip() else " " for t in texts])

    def score_batch(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Probabilities (head) or best cosine similarities (nearest), (N, R); `vectors`
        (N, D), when given, are the texts' precomputed sentence vectors."""
        return self.score_vectors(self.embed(texts) if vectors is None else vectors)

    def score_vectors(self, x: np.ndarray) -> np.ndarray:
        """Score precomputed vectors x (N, D): (N, R)."""
        if self.mode == "nearest":
            sims = x @ self.weights["utterances"].T  # (N, U)
            index = self.weights["route_index"].astype(np.int64)  # (U,)
            out = np.full((len(x), len(self.labels)), -1.0, dtype=np.float32)
            for r in range(len(self.labels)):
                if (index == r).any():
                    out[:, r] = sims[:, index == r].max(axis=1)
            return out
        return softmax(head_logits(self.weights, x))

    def routes(self) -> list[Route]:
        """Routes with thresholds (and utterances, in nearest mode)."""
        return [Route(r.name, list(self.utterances.get(r.name, [])), [], r.threshold) for r in super().routes()]

    @classmethod
    def from_routes(cls, routes: Sequence[Route], encoder=None, default_route: str | None = None) -> "EmbeddingRouter":
        """A nearest-utterance router from routes with example utterances."""
        routes = [r for r in routes if r.utterances]
        if len(routes) < 2:
            raise CadreError("a nearest-utterance router needs at least two routes with utterances")
        texts = [u for r in routes for u in r.utterances]
        index = np.array([i for i, r in enumerate(routes) for _ in r.utterances], dtype=np.float32)
        encode = encoder or default_encoder
        router = cls([r.name for r in routes], "nearest", {"utterances": encode(texts), "route_index": index},
                     encoder=encoder, utterances={r.name: list(r.utterances) for r in routes},
                     default_route=default_route)
        router.set_thresholds({r.name: r.threshold for r in routes if r.threshold is not None})
        return router

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], head: str = "logreg", vectors=None,
            encoder=None, **options) -> "EmbeddingRouter":
        """Train a head on MiniLM vectors of `texts` (or on precomputed `vectors`)."""
        from cadre.routing.intent.heads import fit_head

        names = sorted(set(canonical_labels(labels)))
        if len(names) < 2:
            raise CadreError(f"router data has a single class ({names[0]!r}); a router needs at least two")
        x = vectors if vectors is not None else (encoder or default_encoder)(texts)
        y = np.array([names.index(label) for label in canonical_labels(labels)])
        return cls(names, "head", fit_head(x, y, len(names), head, **options), encoder=encoder)

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        """Write the router folder: head.safetensors and cadre.json (utterances included)."""
        from safetensors.numpy import save_file

        from cadre.checkpoint import write_metadata
        from cadre.fsutil import atomic_dir

        with atomic_dir(folder) as tmp:
            save_file({k: np.ascontiguousarray(v) for k, v in self.weights.items()}, str(tmp / HEAD_FILE))
            write_metadata(tmp, {"type": "router", "router_kind": "embedding", "mode": self.mode,
                                 "encoder": "all-MiniLM-L6-v2", "labels": self.labels,
                                 "thresholds": self.thresholds, "default_route": self.default_route,
                                 "utterances": self.utterances, **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path, encoder=None) -> "EmbeddingRouter":
        """Open an embedding router folder."""
        from cadre.routing.store import finish, router_meta

        folder = Path(folder)
        meta = router_meta(folder, "embedding")
        weights = load_weights(folder / HEAD_FILE)
        router = cls(meta["labels"], meta.get("mode", "head"), weights, encoder=encoder,
                     utterances=meta.get("utterances") or {})
        return finish(router, folder, meta)


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """Read a safetensors file of numpy arrays; missing or corrupt is a one-line error."""
    from safetensors.numpy import load_file

    if not path.is_file():
        raise CadreError(f"{path.parent}: corrupt router folder (no {path.name})")
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises several types for corrupt files
        raise CadreError(f"{path}: corrupt or truncated safetensors ({type(exc).__name__})") from None


def head_logits(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Logits of a logistic-regression (W, b) or MLP (W1, b1, W2, b2) head: (N, R)."""
    if "W1" in weights:
        h = np.maximum(x @ weights["W1"].T + weights["b1"], 0.0)  # (N, H)
        return h @ weights["W2"].T + weights["b2"]  # (N, R)
    return x @ weights["W"].T + weights["b"]  # (N, R)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, (N, R)."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


register_router("embedding", EmbeddingRouter, EmbeddingRouter.load)
