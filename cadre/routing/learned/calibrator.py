"""Calibration of the learned router's probabilities, and per-format costs.

The predictors' raw P(correct) are noisy and mis-scaled, and their errors differ by prompt
format (a 5-shot multiple-choice prompt, a fill-in-the-blank, a coding request). So, on
the out-of-fold predictions of the training table:

- prompts are grouped into **format clusters**: k-means over the standardised
  `shape_features` of the prompt (its length, number of examples, answer choices, a
  blank, code markers...), all read off the prompt itself, so the cluster of a new
  prompt is known at routing time. k is chosen among 1, 2, 3, 4, 6, 8 (at most one per
  40 rows) by the 3-fold cross-validated log loss of the calibrator below;
- a **stacked calibrator** per model, a logistic regression on the logits of every
  model's predicted P (every predictor kind, when several are combined) plus the
  cluster one-hot, turns raw predictions into calibrated P(correct). It pools the
  models' estimates, which share the prompt's difficulty, and restores each format's
  base rates. With one cluster and one model it reduces to Platt scaling;
- the **cost table** is each model's mean cost per call within each cluster (a model's
  answers to coding prompts are longer, so dearer), used by the decision rules.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cadre.routing.learned.features import shape_features

CLUSTER_CHOICES = (1, 2, 3, 4, 6, 8)
ROWS_PER_CLUSTER = 40
STACK_C = 0.1


def prompt_shapes(prompts: Sequence[str]) -> np.ndarray:
    """Shape features of prompts, (N, 12)."""
    return np.stack([shape_features(p) for p in prompts]) if len(prompts) else np.zeros((0, 12), np.float32)


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)) with p clipped away from 0 and 1."""
    p = np.clip(np.asarray(p, np.float64), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


class Calibrator:
    """Format clusters, per-model stacked logistic calibration, and a cluster cost table.

    All state is in `arrays` (saved under `calib.` in the artifact).
    """

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    @property
    def k(self) -> int:
        """Number of format clusters."""
        return int(self.arrays["centroids"].shape[0])

    @classmethod
    def fit(cls, P_all: np.ndarray, Y: np.ndarray, shapes: np.ndarray, C: np.ndarray,
            fallback_costs: np.ndarray, clusters: int | None = None, seed: int = 0) -> "Calibrator":
        """Fit on out-of-fold predictions P_all (N, B·M), scores Y (N, M), costs C (N, M).

        `clusters` fixes k; None chooses it by cross-validated log loss.
        """
        mean, std = shapes.mean(axis=0), shapes.std(axis=0) + 1e-6
        z = (shapes - mean) / std
        limit = max(1, len(Y) // ROWS_PER_CLUSTER)
        choices = [min(clusters, limit)] if clusters else [k for k in CLUSTER_CHOICES if k <= limit]
        fits = {k: _kmeans(z, k, seed) for k in choices}
        losses = {k: _cv_loss(P_all, Y, np.eye(len(c))[ids], seed) if len(choices) > 1 else 0.0
                  for k, (c, ids) in fits.items()}
        k = min(losses, key=lambda k: (round(losses[k], 4), k))
        centroids, ids = fits[k]
        arrays = {"shape_mean": mean.astype(np.float32), "shape_std": std.astype(np.float32),
                  "centroids": centroids.astype(np.float32),
                  "cluster_cv_logloss": np.array([[k, losses[k]] for k in sorted(losses)])}
        arrays.update(_fit_stack(P_all, Y, np.eye(len(centroids))[ids]))
        arrays["cluster_costs"] = _cluster_costs(C, ids, len(centroids), fallback_costs)
        return cls(arrays)

    def clusters(self, shapes: np.ndarray) -> np.ndarray:
        """Nearest format cluster of each prompt, (N,)."""
        z = (shapes - self.arrays["shape_mean"]) / self.arrays["shape_std"]
        d = ((z[:, None, :] - self.arrays["centroids"][None, :, :]) ** 2).sum(axis=-1)  # (N, K)
        return d.argmin(axis=1)

    def apply(self, P_all: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Calibrated P(correct), (N, M)."""
        return _apply_stack(self.arrays, P_all, np.eye(self.k)[ids])

    def row_costs(self, ids: np.ndarray) -> np.ndarray:
        """Expected cost of each model for each prompt, from its cluster, (N, M)."""
        return self.arrays["cluster_costs"][ids]


def _kmeans(z: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means; returns (centroids (k, S), labels (N,)) with empty clusters dropped."""
    if k == 1:
        return z.mean(axis=0, keepdims=True), np.zeros(len(z), dtype=int)
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(z)
    used = np.unique(km.labels_)
    remap = {c: i for i, c in enumerate(used)}
    return km.cluster_centers_[used], np.array([remap[c] for c in km.labels_])


def _apply_stack(arrays: dict, P_all: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    feats = np.hstack([logit(P_all), onehot])  # (N, B·M + K)
    z = feats @ arrays["coef"].T + arrays["intercept"][None, :]
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def _cv_loss(P_all: np.ndarray, Y: np.ndarray, onehot: np.ndarray, seed: int, folds: int = 3) -> float:
    """Cross-validated log loss of the stacked calibrator with these clusters."""
    from cadre.routing.learned.predictors import validation_logloss

    ids = np.random.default_rng(seed).permutation(len(Y)) % folds
    out = np.zeros(Y.shape, dtype=np.float32)
    for f in range(folds):
        arrays = _fit_stack(P_all[ids != f], Y[ids != f], onehot[ids != f])
        out[ids == f] = _apply_stack(arrays, P_all[ids == f], onehot[ids == f])
    return validation_logloss(out, Y)


def _fit_stack(P_all: np.ndarray, Y: np.ndarray, onehot: np.ndarray) -> dict:
    """One logistic regression per model on [logits of all predictions, cluster one-hot]."""
    from sklearn.linear_model import LogisticRegression

    feats = np.hstack([logit(P_all), onehot])  # (N, B·M + K)
    M = Y.shape[1]
    coef = np.zeros((M, feats.shape[1]))
    intercept = np.zeros(M)
    for j in range(M):
        seen = ~np.isnan(Y[:, j])
        y = Y[seen, j] >= 0.5
        if y.all() or not y.any():  # one class only: a constant at its (smoothed) rate
            rate = (y.sum() + 0.5) / (len(y) + 1.0)
            intercept[j] = np.log(rate / (1 - rate))
            continue
        lr = LogisticRegression(C=STACK_C, max_iter=3000).fit(feats[seen], y)
        coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
    return {"coef": coef, "intercept": intercept}


def _cluster_costs(C: np.ndarray, ids: np.ndarray, k: int, fallback: np.ndarray) -> np.ndarray:
    """Mean cost per (cluster, model); the overall figure where a cluster has none, (K, M)."""
    out = np.tile(np.asarray(fallback, np.float64), (k, 1))
    for c in range(k):
        rows = C[ids == c]
        if len(rows):
            seen = np.isfinite(rows).any(axis=0)
            with np.errstate(all="ignore"):
                out[c, seen] = np.nanmean(rows[:, seen], axis=0)
    return out
