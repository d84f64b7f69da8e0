"""The default threshold when the data has no out-of-scope examples and no target
precision is given: one pooled threshold that rejects at most `max_drop` of the
in-scope examples a router gets right, measured on scores of texts the router did not
train on (out-of-fold or validation). It keeps the router able to decline gibberish
while costing in-scope accuracy at most that share (half the 0.5-point budget by
default, leaving headroom for data that differs from the training set)."""
from __future__ import annotations

import numpy as np

MAX_DROP = 0.0025


def guard_threshold(probs: np.ndarray, y: np.ndarray, max_drop: float = MAX_DROP) -> dict:
    """Threshold on the top probability, and what it does on these rows: the share of
    all rows it turns from right to rejected (`in_scope_drop`) and the share of wrong
    predictions it rejects (`wrong_rejected`). Rows with NaN scores are ignored."""
    probs, y = np.asarray(probs, dtype=np.float64), np.asarray(y)
    keep = ~np.isnan(probs).any(axis=1)
    probs, y = probs[keep], y[keep]
    if not len(y):
        return {"threshold": 0.0, "in_scope_drop": 0.0, "wrong_rejected": 0.0, "rows": 0}
    score, right = probs.max(axis=1), probs.argmax(axis=1) == y
    allowed = int(np.floor(max_drop * len(y)))
    right_scores = np.sort(score[right])
    t = float(right_scores[min(allowed, len(right_scores) - 1)]) if len(right_scores) else 0.0
    rejected = score < t
    wrong = ~right
    return {"threshold": t, "in_scope_drop": float((rejected & right).mean()),
            "wrong_rejected": float((rejected & wrong).sum() / max(1, wrong.sum())), "rows": int(len(y))}
