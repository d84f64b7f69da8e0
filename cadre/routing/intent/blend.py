"""The `blend` router: the fine-tuned MiniLM (`finetune`) and the frozen-encoder ensemble
(MiniLM ⊕ TF-IDF) answer together, their probabilities averaged with a weight chosen out
of fold. The two err on different texts (on Banking77 each is right on about 1.3% of
test texts where the other is wrong), so the average beats either alone; it costs both
routers' time per request (two MiniLM passes), so `auto` considers it only under a
latency budget that admits it (`--max-latency-ms`) and with `--train-budget`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing.base import Router, register_router
from cadre.routing.intent.encoders import MINILM
from cadre.routing.intent.kinds import FitData, RouterKind, get_kind, register_kind

PARTS = ("finetune", "ensemble")  # the kinds blended, each saved in a subfolder of that name
WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7)  # finetune's weight; the ensemble gets the rest
DEFAULT_WEIGHT = 0.5  # without out-of-fold scores (`--kind blend`), and on ties


class BlendRouter(Router):
    """Σ weight · probabilities of its parts, (N, R); the parts share their routes."""

    def __init__(self, parts: Sequence[Router], weights: Sequence[float], **kwargs):
        if len(parts) != len(weights) or any(p.labels != parts[0].labels for p in parts):
            raise CadreError("blend: the routers blended must share their routes, one weight each")
        super().__init__(list(parts[0].labels), **kwargs)
        self.parts, self.weights = list(parts), [float(w) for w in weights]

    def score_batch(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for part, weight in zip(self.parts, self.weights):
            out += weight * np.asarray(part.score_batch(texts), dtype=np.float32)
        return out

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        """Each part in its subfolder, and cadre.json, atomically."""
        from cadre.checkpoint import write_metadata
        from cadre.fsutil import atomic_dir

        with atomic_dir(folder) as tmp:
            for name, part in zip(PARTS, self.parts):
                part.save(tmp / name)
            write_metadata(tmp, {"type": "router", "router_kind": "blend", "labels": self.labels,
                                 "thresholds": self.thresholds, "default_route": self.default_route,
                                 "parts": dict(zip(PARTS, self.weights)), **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path) -> "BlendRouter":
        from cadre.routing.loading import load_router
        from cadre.routing.store import finish, router_meta

        folder = Path(folder)
        meta = router_meta(folder, "blend")
        weights = meta.get("parts")
        if not isinstance(weights, dict) or set(weights) != set(PARTS):
            raise CadreError(f"{folder}: corrupt blend router (cadre.json's parts must weigh {' and '.join(PARTS)})")
        parts = [load_router(folder / name) for name in PARTS]
        return finish(cls(parts, [float(weights[name]) for name in PARTS]), folder, meta)


def blended(ft: np.ndarray, ens: np.ndarray, weight: float) -> np.ndarray:
    return weight * ft + (1.0 - weight) * ens


def choose_weight(ft: np.ndarray, ens: np.ndarray, y: np.ndarray) -> float:
    """finetune's weight in WEIGHTS with the best accuracy on these rows (ties: nearest the default)."""
    def key(w):
        return (round(float((blended(ft, ens, w).argmax(axis=1) == y).mean()), 6), -abs(w - DEFAULT_WEIGHT))

    return max(WEIGHTS, key=key)


def cross_fitted_accuracy(ft: np.ndarray, ens: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Accuracy with each half of the rows blended at the weight chosen on the other half:
    the weight is chosen on these rows, so scoring it on them would flatter it."""
    half = np.random.default_rng(seed).permutation(len(y)) % 2 == 0
    right = 0
    for pick in (half, ~half):
        w = choose_weight(ft[~pick], ens[~pick], y[~pick])
        right += int((blended(ft[pick], ens[pick], w).argmax(axis=1) == y[pick]).sum())
    return right / max(1, len(y))


def score_blend(data: FitData):
    """From the finetune and ensemble rows' out-of-fold probabilities (no refitting), on
    the rows both scored; timing derived: the parts' p50s and p99s added."""
    from cadre.routing.intent.auto_cv import Scored

    ft, ens = data.row("finetune"), data.row("ensemble")
    if ft is None or ens is None:
        data.notes.append("blend skipped: it is scored from the finetune and ensemble rows "
                          f"({'finetune' if ft is None else 'ensemble'} sat out)")
        return None
    seen = ~np.isnan(ft.probs[:, 0]) & ~np.isnan(ens.probs[:, 0])
    weight = choose_weight(ft.probs[seen], ens.probs[seen], data.y[seen])
    accuracy = cross_fitted_accuracy(ft.probs[seen], ens.probs[seen], data.y[seen], data.options.seed)
    probs = np.full_like(ft.probs, np.nan)
    probs[seen] = blended(ft.probs[seen], ens.probs[seen], weight)
    timed = None not in (ft.p50_ms, ens.p50_ms, ft.p99_ms, ens.p99_ms)
    note = (f"finetune × {weight:g} + ensemble × {1 - weight:g} (weight chosen on {int(seen.sum())} held-out texts, "
            "scored cross-fitted); timing derived from theirs")
    return Scored("blend", [accuracy], probs, 1.0, ft.p50_ms + ens.p50_ms if timed else None,
                  ft.p99_ms + ens.p99_ms if timed else None, note, {"weight": weight})


def fit_blend(data: FitData) -> BlendRouter:
    """Both parts fitted as their kinds fit (finetune reuses what auto trained where it
    can), blended at the weight auto chose, else the default."""
    scored = data.row("blend")
    weight = scored.extra["weight"] if scored is not None else DEFAULT_WEIGHT
    parts = [get_kind(name).fit(data) for name in PARTS]
    return BlendRouter(parts, [weight, 1.0 - weight])


register_router("blend", BlendRouter, BlendRouter.load)
register_kind(RouterKind("blend", "finetune and ensemble averaged (--train-budget; two MiniLM passes a request)",
                         __name__, "blend", fit_blend, score_blend, (MINILM,), needs=PARTS))
