"""Per-route thresholds fitted on validation data to a target precision, and the
routing outcome they give (in-scope accuracy, out-of-scope recall).

A prediction for route r counts when its score reaches r's threshold; below it, the text
is `out_of_scope` and goes down the fallback chain. Out-of-scope validation examples
(labels `oos`/`out_of_scope`) are false positives for whatever route they land on. Each
route's precision curve is smoothed toward the pooled curve of all routes, because a
route often has only a few validation examples.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cadre.labels import OUT_OF_SCOPE, canonical_labels


NEVER = 2.0  # an out_of_scope threshold no probability reaches: the column never wins by argmax


def top_route(probs: np.ndarray, labels: Sequence[str], oos_wins: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Best route index and score per row, (N,), (N,). Where the out_of_scope column wins
    and `oos_wins`, the score is -inf (always rejected); otherwise the best in-scope route
    is taken."""
    labels = list(labels)
    probs = np.asarray(probs, dtype=np.float64)
    if OUT_OF_SCOPE not in labels:
        best = probs.argmax(axis=1)
        return best, probs[np.arange(len(probs)), best]
    col = labels.index(OUT_OF_SCOPE)
    inscope = probs.copy()
    inscope[:, col] = -np.inf
    best = inscope.argmax(axis=1)
    score = inscope[np.arange(len(probs)), best]
    if oos_wins:
        said_oos = probs[:, col] > score
        best, score = np.where(said_oos, col, best), np.where(said_oos, -np.inf, score)
    return best, score


def fit_thresholds(probs: np.ndarray, gold: Sequence[str], labels: Sequence[str],
                   target_precision: float = 0.9, smoothing: float = 50.0,
                   oos_weight: float = 1.0, per_route: bool = True) -> dict[str, float]:
    """The lowest threshold per route whose (smoothed) precision reaches the target.

    Each route's precision curve is shrunk toward the pooled curve of all routes with
    weight `smoothing` (in examples); `per_route=False` gives every route the pooled
    threshold. `oos_weight` counts each out-of-scope example that many times, for when
    validation data holds fewer of them than real traffic will. When the router has an
    out_of_scope column, both uses of it are tried (it wins by argmax, or it is ignored
    and thresholds alone reject) and the one accepting more in-scope texts is kept.
    """
    labels = canonical_labels(labels)
    gold = np.array(canonical_labels(gold))
    options = [True, False] if OUT_OF_SCOPE in labels else [True]
    fitted = []
    for oos_wins in options:
        best, score = top_route(np.asarray(probs), labels, oos_wins)
        thresholds = _fit(best, score, gold, labels, target_precision, smoothing, oos_weight, per_route)
        limits = np.array([thresholds.get(label, 0.0) for label in labels])
        accepted = float((np.isfinite(score) & (score >= limits[best]) & (gold != OUT_OF_SCOPE)).sum())
        if OUT_OF_SCOPE in labels:
            thresholds[OUT_OF_SCOPE] = 0.0 if oos_wins else NEVER
        fitted.append((accepted, oos_wins, thresholds))
    return max(fitted, key=lambda f: (f[0], f[1]))[2]


def _fit(best, score, gold, labels, target, smoothing, oos_weight, per_route) -> dict[str, float]:
    pred = np.array(labels)[best]
    correct = (pred == gold).astype(np.float64)
    weight = np.where(gold == OUT_OF_SCOPE, oos_weight, 1.0)
    pooled = _precision_curve(score, correct, weight)
    if not per_route:
        t = _route_threshold(np.zeros(0), np.zeros(0), np.zeros(0), pooled, target, 1.0)
        return {name: t for name in labels if name != OUT_OF_SCOPE}
    out = {}
    for r, name in enumerate(labels):
        if name == OUT_OF_SCOPE:
            continue
        rows = (best == r) & np.isfinite(score)
        out[name] = _route_threshold(score[rows], correct[rows], weight[rows], pooled, target, smoothing)
    return out


def _precision_curve(score, correct, weight):
    """(thresholds ascending, precision of predictions scoring ≥ each threshold)."""
    keep = np.isfinite(score)
    order = np.argsort(-score[keep])
    s, c, w = score[keep][order], correct[keep][order], weight[keep][order]
    precision = np.cumsum(c * w) / np.maximum(np.cumsum(w), 1e-12)
    return s[::-1], precision[::-1]


def _pooled_at(pooled, t: float) -> float:
    thresholds, precision = pooled
    i = np.searchsorted(thresholds, t, side="left")
    return float(precision[min(i, len(precision) - 1)]) if len(precision) else 1.0


def _route_threshold(score, correct, weight, pooled, target: float, smoothing: float) -> float:
    """Scan candidate thresholds from low to high; the first whose smoothed precision is
    on target wins. Candidates are the route's own scores and the pooled ones."""
    candidates = np.unique(np.concatenate([score, pooled[0]]))
    for t in candidates:
        mask = score >= t
        tp, n = float((correct[mask] * weight[mask]).sum()), float(weight[mask].sum())
        if n + smoothing == 0:  # nothing left above t: no false positive either
            return float(t)
        smoothed = (tp + smoothing * _pooled_at(pooled, t)) / (n + smoothing)
        if smoothed >= target:
            return float(t)
    return float(candidates[-1]) if len(candidates) else 1.0


def apply_thresholds(probs: np.ndarray, labels: Sequence[str], thresholds: dict[str, float]) -> list[str]:
    """Route names after thresholds (the same rule as `Router.decide`, without fallbacks):
    below its route's threshold a row is out_of_scope."""
    labels = list(labels)
    oos_wins = thresholds.get(OUT_OF_SCOPE, 0.0) <= 0.0
    best, score = top_route(np.asarray(probs), labels, oos_wins)
    if OUT_OF_SCOPE in labels and 0.0 < thresholds.get(OUT_OF_SCOPE, 0.0) < NEVER:
        col = labels.index(OUT_OF_SCOPE)  # oos wins only at or above its own threshold
        said = (np.asarray(probs)[:, col] >= thresholds[OUT_OF_SCOPE]) & (np.asarray(probs)[:, col] > score)
        score = np.where(said, -np.inf, score)
    limits = np.array([thresholds.get(label, 0.0) for label in labels])
    ok = np.isfinite(score) & (score >= limits[best])
    return [labels[b] if keep else OUT_OF_SCOPE for b, keep in zip(best, ok)]


def outcome(pred: Sequence[str], gold: Sequence[str]) -> dict[str, float]:
    """accuracy over all rows, in-scope accuracy (rejecting an in-scope text is wrong),
    out-of-scope recall and precision."""
    gold = canonical_labels(gold)
    pairs = list(zip(pred, gold))
    inscope = [(p, g) for p, g in pairs if g != OUT_OF_SCOPE]
    oos = [(p, g) for p, g in pairs if g == OUT_OF_SCOPE]
    said_oos = [(p, g) for p, g in pairs if p == OUT_OF_SCOPE]
    mean = lambda rows: sum(p == g for p, g in rows) / len(rows) if rows else None  # noqa: E731
    return {"accuracy": mean(pairs), "in_scope_accuracy": mean(inscope), "oos_recall": mean(oos),
            "oos_precision": mean(said_oos) if oos else None, "examples": len(pairs), "oos_examples": len(oos)}
