"""The `cascade` router: the fast router first (static MiniLM-distilled vectors ⊕ TF-IDF,
well under a millisecond), and only the texts it is unsure of go on to the ensemble
(MiniLM ⊕ TF-IDF, ~9 ms). Unsure means the gap between its two best routes' probabilities
is below `escalate_below`, a threshold chosen on out-of-fold predictions of the training
data: twice the smallest share of escalated texts at which the cascade is as accurate as
the ensemble alone, at most `MAX_ESCALATED` of them, so the median request stays on the
fast router. Twice, because new text is less familiar than out-of-fold text: more of it
falls below the gap, and the fast router is wrong on more of it (docs/routing.md has the
measurements). On Banking77 about a third of the texts go on (docs/benchmarks.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing.base import Router, register_router
from cadre.routing.intent.ensemble import EnsembleRouter
from cadre.routing.intent.encoders import MINILM, STATIC
from cadre.routing.store import canonical_labels

# held-out test sets escalated up to 1.15x the out-of-fold share (0.49 here): under half, so p50 is fast's
MAX_ESCALATED = 0.425
SHARES = tuple(np.round(np.arange(0.0, MAX_ESCALATED + 1e-9, 0.025), 3))
TOLERANCE = 0.001  # "as accurate as the ensemble": within a tenth of a point out of fold
SHIFT_MARGIN = 2.0  # escalate this many times the share that suffices out of fold


class CascadeRouter(Router):
    """`fast` decides unless its top-two gap is below `escalate_below`; then `slow` does."""

    def __init__(self, fast: EnsembleRouter, slow: EnsembleRouter, escalate_below: float,
                 escalated_share: float | None = None, **kwargs):
        if fast.labels != slow.labels:
            raise CadreError("cascade: the fast and the ensemble router must share their routes")
        super().__init__(list(fast.labels), **kwargs)
        self.fast, self.slow = fast, slow
        self.escalate_below, self.escalated_share = float(escalate_below), escalated_share

    def score_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Route probabilities (N, R): the fast router's, the ensemble's for the unsure rows."""
        texts = list(texts)
        probs = np.asarray(self.fast.score_batch(texts), dtype=np.float32)
        unsure = np.where(top_gap(probs) < self.escalate_below)[0]
        if len(unsure):
            probs[unsure] = self.slow.score_batch([texts[i] for i in unsure])
        return probs

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], vectors: np.ndarray | None = None,
            embed_scale: float = 2.0, folds: int = 5, seed: int = 0) -> "CascadeRouter":
        """Fit both routers (out-of-fold margins kept) and choose the escalation gap."""
        texts, labels = list(texts), canonical_labels(labels)
        fast = EnsembleRouter.fit(texts, labels, folds=folds, seed=seed, keep_oof=True, encoder_name=STATIC,
                                  embed_scale=embed_scale)
        slow = EnsembleRouter.fit(texts, labels, vectors, folds=folds, seed=seed, keep_oof=True,
                                  encoder_name=MINILM, embed_scale=embed_scale)
        y = np.array([fast.classes.index(label) for label in labels])
        gap, share = choose_gap(_probs(fast), _probs(slow), y)
        return cls(fast, slow, gap, share)

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        """Both routers in subfolders, and cadre.json, atomically."""
        from cadre.checkpoint import write_metadata
        from cadre.fsutil import atomic_dir

        with atomic_dir(folder) as tmp:
            self.fast.save(tmp / "fast")
            self.slow.save(tmp / "ensemble")
            write_metadata(tmp, {"type": "router", "router_kind": "cascade", "labels": self.labels,
                                 "thresholds": self.thresholds, "default_route": self.default_route,
                                 "escalate_below": self.escalate_below,
                                 "escalated_share": self.escalated_share, **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path) -> "CascadeRouter":
        """Open a cascade router folder."""
        from cadre.routing.store import finish, router_meta

        folder = Path(folder)
        meta = router_meta(folder, "cascade")
        try:
            gap = float(meta["escalate_below"])
        except (KeyError, TypeError, ValueError):
            raise CadreError(f"{folder}: corrupt cascade router (no escalate_below in cadre.json)") from None
        router = cls(EnsembleRouter.load(folder / "fast"), EnsembleRouter.load(folder / "ensemble"), gap,
                     meta.get("escalated_share"))
        return finish(router, folder, meta)


def top_gap(probs: np.ndarray) -> np.ndarray:
    """Best minus second-best probability per row, (N,)."""
    if probs.shape[1] < 2:
        return np.ones(len(probs), dtype=np.float32)
    top2 = np.partition(probs, -2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def choose_gap(fast_probs: np.ndarray, slow_probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(escalation gap, share escalated): SHIFT_MARGIN times the smallest share in SHARES
    whose out-of-fold cascade accuracy is within TOLERANCE of the ensemble's, at most
    MAX_ESCALATED; else the most accurate share."""
    gap = top_gap(fast_probs)
    fast_ok, slow_ok = fast_probs.argmax(axis=1) == y, slow_probs.argmax(axis=1) == y
    target = slow_ok.mean() - TOLERANCE
    best = (-1.0, 0.0)
    for share in SHARES:
        accuracy = float(np.where(gap < gap_limit(gap, share), slow_ok, fast_ok).mean())
        if accuracy >= target:
            escalated = min(MAX_ESCALATED, SHIFT_MARGIN * float(share))
            return gap_limit(gap, escalated), escalated
        best = max(best, (accuracy, -share))
    return gap_limit(gap, -best[1]), -best[1]


def gap_limit(gap: np.ndarray, share: float) -> float:
    """The gap below which `share` of these rows fall."""
    return float(np.quantile(gap, share)) if share > 0 else 0.0


def cascade_accuracy(fast_probs: np.ndarray, slow_probs: np.ndarray, y: np.ndarray,
                     limit: float) -> np.ndarray:
    """Per-row correctness of the cascade at one escalation gap, (N,) bool."""
    unsure = top_gap(fast_probs) < limit
    return np.where(unsure, slow_probs.argmax(axis=1) == y, fast_probs.argmax(axis=1) == y)


def _probs(router: EnsembleRouter) -> np.ndarray:
    """Out-of-fold classifier probabilities of a router fitted with keep_oof (N, C)."""
    from cadre.routing.intent.embedding import softmax

    return softmax(router.oof_margins * router.temperature)


register_router("cascade", CascadeRouter, CascadeRouter.load)


def cascade_scored(fast, slow, y: np.ndarray, folds):
    """`--kind auto`'s cascade row, from the fast and ensemble rows' out-of-fold
    probabilities (no refitting): each fold scored with the gap chosen on the other folds'
    rows (with --val, on the validation rows themselves). Its timing is derived, not
    measured: p50 is the fast router's while under half the texts escalate, p99 the sum
    of both routers' p99 (the note says so)."""
    from cadre.routing.intent.auto_cv import Scored

    seen = ~np.isnan(fast.probs[:, 0]) & ~np.isnan(slow.probs[:, 0])
    accuracy = []
    for k in range(folds.rounds):
        held, other = seen & (folds.index == k), seen & (folds.index != k)
        if not held.any():
            continue
        pick = other if other.any() else held
        limit, _ = choose_gap(fast.probs[pick], slow.probs[pick], y[pick])
        accuracy.append(float(cascade_accuracy(fast.probs[held], slow.probs[held], y[held], limit).mean()))
    limit, share = choose_gap(fast.probs[seen], slow.probs[seen], y[seen])
    probs = fast.probs.copy()
    unsure = seen & (top_gap(np.nan_to_num(fast.probs)) < limit)
    probs[unsure] = slow.probs[unsure]
    timed = None not in (fast.p50_ms, slow.p50_ms, fast.p99_ms, slow.p99_ms)
    p50 = (fast.p50_ms if share < 0.5 else slow.p50_ms) if timed else None
    p99 = fast.p99_ms + slow.p99_ms if timed else None
    note = f"fast, then ensemble for {share:.1%} of texts; timing derived from theirs"
    return Scored("cascade", accuracy, probs, fast.temperature, p50, p99, note,
                  {"escalate_below": limit, "escalated_share": share})
