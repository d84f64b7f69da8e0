"""The ensemble router's arithmetic, shared by scoring (`ensemble`) and fitting
(`ensemble_fit`): linear margins over [TF-IDF | MiniLM], the out-of-scope detector's
confidence features and its probability."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cadre.labels import OUT_OF_SCOPE

MIN_OOS = 10  # fewer out-of-scope examples than this: no detector


def margins(sparse, x: np.ndarray, weights: dict[str, np.ndarray], embed_scale: float) -> np.ndarray:
    """Linear margins over [TF-IDF | scale · MiniLM]: (N, C)."""
    v = sparse.shape[1]
    if "_Wt" not in weights:  # transposed once: sparse @ a strided view would copy all of W per call
        weights["_Wt"] = np.ascontiguousarray(weights["W"][:, :v].T)  # (V, C)
        weights["_We"] = np.ascontiguousarray(weights["W"][:, v:].T)  # (384, C)
    return np.asarray(sparse @ weights["_Wt"]) + (x * embed_scale) @ weights["_We"] + weights["b"]


def confidence_features(d: np.ndarray, probs: np.ndarray, x: np.ndarray, weights: dict[str, np.ndarray],
                        classes: Sequence[str]) -> np.ndarray:
    """Per-text features for the out-of-scope detector: (N, 7)."""
    inscope = np.array([c != OUT_OF_SCOPE for c in classes])
    d_in = np.where(inscope[None, :], d, -np.inf)
    top2 = np.sort(d_in, axis=1)[:, -2:]  # (N, 2)
    pred = d_in.argmax(axis=1)
    p_oos = probs[:, ~inscope].sum(axis=1) if (~inscope).any() else np.zeros(len(d))
    sims = x @ weights["bank"].astype(np.float32).T  # (N, M)
    bank_label = weights["bank_label"].astype(np.int64)
    k = min(5, sims.shape[1])
    topk = np.sort(sims, axis=1)[:, -k:]
    same = np.array([sims[i, bank_label == pred[i]].max() if (bank_label == pred[i]).any() else -1.0
                     for i in range(len(d))])
    return np.stack([top2[:, 1], top2[:, 1] - top2[:, 0], probs.max(axis=1), p_oos,
                     topk[:, -1], topk.mean(axis=1), same], axis=1).astype(np.float32)


def detector_probability(weights: dict[str, np.ndarray], feats: np.ndarray) -> np.ndarray:
    """P(in scope) from standardised confidence features: (N,)."""
    z = (feats - weights["det_mu"]) / weights["det_sd"]
    logit = np.clip(z @ weights["det_w"] + weights["det_b"][0], -60.0, 60.0)  # exp() stays finite: no warning
    return 1.0 / (1.0 + np.exp(-logit))

