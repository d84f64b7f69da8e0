"""Stage 5: judging a learned router on a test table, from arrays.

Definitions used here:

- **cost–quality curve**: the (mean cost, accuracy) points a router reaches as its
  operating parameter (λ or a threshold) sweeps; mixing two operating points at random
  reaches any point on the segment between them, so the curve is summarised by its
  **non-decreasing upper convex hull** R̃(c) (flat after its best point; 0 below its
  cheapest point, where the router cannot operate).
- **AIQ** (RouterBench, Hu et al. 2024): the mean of R̃ over the cost range from the
  cheapest to the dearest single model, i.e. ∫ R̃(c) dc / (c_max − c_min). The
  "zero router" (random mixes of single models) is the hull of the single models' points.
- **APGR** (RouteLLM, Ong et al. 2024): the average over cost of the performance gap
  recovered, PGR(c) = (R̃(c) − q_weak) / (q_strong − q_weak). RouteLLM has two models and
  its cost axis is the share of calls sent to the strong one. With more models, cadre
  takes **weak = the cheapest single model** and **strong = the most accurate single
  model**, and averages PGR over mean costs from the weak model's to the strong one's
  (for two models this is RouteLLM's axis, since cost is linear in the strong share).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

_GRID = 401


def per_model_metrics(P: np.ndarray, Y: np.ndarray, models: Sequence[str]) -> dict:
    """AUC, accuracy and F1 (at 0.5) of each model's P(correct), plus its positive rate."""
    from sklearn.metrics import f1_score, roc_auc_score

    out = {}
    for j, m in enumerate(models):
        seen = ~np.isnan(Y[:, j])
        y, p = Y[seen, j] >= 0.5, P[seen, j]
        auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")
        out[m] = {"auc": auc, "accuracy": float(((p >= 0.5) == y).mean()) if len(y) else float("nan"),
                  "f1": float(f1_score(y, p >= 0.5, zero_division=0.0)) if len(y) else float("nan"),
                  "positive_rate": float(y.mean()) if len(y) else float("nan")}
    return out


def coverage(Y: np.ndarray, models: Sequence[str]) -> dict:
    """What a table's scores cover: rows, models, complete rows and each model's known rows.

    A missing score is unknown for that model only, so every figure says what it stands on.
    """
    known = np.isfinite(Y)  # (N, M)
    per_model = {m: int(k) for m, k in zip(models, known.sum(axis=0))}
    return {"rows": int(len(Y)), "models": len(models), "complete_rows": int(known.all(axis=1).sum()),
            "known_scores": float(known.mean()) if known.size else 0.0,
            "known_rows_per_model": per_model,
            "min_known_rows": min(per_model.values()) if per_model else 0}


def coverage_text(cov: dict) -> str:
    """One line for reports: rows, models, and how complete the scores are."""
    text = f"{cov['rows']} rows × {cov['models']} models"
    if cov["complete_rows"] == cov["rows"]:
        return text + ", every score known"
    short = {m: k for m, k in cov["known_rows_per_model"].items() if k < cov["rows"]}
    few = ", ".join(f"{m} {k}" for m, k in sorted(short.items(), key=lambda x: x[1])[:3])
    return (f"{text}, {cov['known_scores']:.1%} of scores known ({cov['complete_rows']} rows complete; "
            f"{len(short)} model(s) with gaps: {few}{', …' if len(short) > 3 else ''}); "
            f"each model judged on its known rows")


def single_models(Y: np.ndarray, C: np.ndarray, models: Sequence[str]) -> dict:
    """Each model alone, on the rows where it has a score: {model: (mean cost, accuracy)}."""
    return {m: (float(np.nanmean(C[:, j])), float(np.nanmean(Y[:, j]))) for j, m in enumerate(models)}


def oracle(Y: np.ndarray, C: np.ndarray) -> tuple[float, float]:
    """(accuracy, mean cost) of the cheapest correct model per row (cheapest overall if none);
    only models with a known score can be correct."""
    correct = np.nan_to_num(Y) >= 0.5
    cost_ok = np.where(correct, C, np.inf)
    pick = np.where(correct.any(axis=1), cost_ok.argmin(axis=1), np.nan_to_num(C, nan=np.inf).argmin(axis=1))
    rows = np.arange(len(Y))
    return float(correct.any(axis=1).mean()), float(np.nanmean(C[rows, pick]))


def selection_frequency(choice: np.ndarray, models: Sequence[str]) -> dict:
    """Share of rows routed to each model."""
    counts = np.bincount(choice, minlength=len(models)) / max(len(choice), 1)
    return {m: float(c) for m, c in zip(models, counts)}


def hull(points: Sequence[tuple[float, float]]) -> np.ndarray:
    """Non-decreasing upper convex hull of (cost, quality) points, sorted by cost; (H, 2)."""
    pts = sorted(set((float(c), float(q)) for c, q in points if np.isfinite(c) and np.isfinite(q)))
    frontier = []
    for c, q in pts:  # keep only points that improve on everything cheaper
        if not frontier or q > frontier[-1][1]:
            if frontier and c == frontier[-1][0]:
                frontier.pop()
            frontier.append((c, q))
    upper: list[tuple[float, float]] = []
    for p in frontier:  # monotone chain: drop points under the chord
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], p) >= 0:
            upper.pop()
        upper.append(p)
    return np.array(upper, dtype=np.float64).reshape(-1, 2)


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def hull_value(h: np.ndarray, c: np.ndarray) -> np.ndarray:
    """R̃(c): interpolated on the hull, flat after it, 0 below its cheapest point."""
    if len(h) == 0:
        return np.zeros_like(c)
    vals = np.interp(c, h[:, 0], h[:, 1])
    return np.where(c < h[0, 0] - 1e-15, 0.0, vals)


def aiq(points, c_min: float, c_max: float) -> float:
    """RouterBench's AIQ over [c_min, c_max]; see the module docstring."""
    grid = np.linspace(c_min, c_max, _GRID)
    return float(np.trapezoid(hull_value(hull(points), grid), grid) / max(c_max - c_min, 1e-15))


def apgr(points, weak: tuple[float, float], strong: tuple[float, float]) -> float:
    """Average performance gap recovered between weak (cost, q) and strong (cost, q)."""
    (cw, qw), (cs, qs) = weak, strong
    if qs <= qw or cs <= cw:
        return float("nan")
    grid = np.linspace(cw, cs, _GRID)
    pgr = (hull_value(hull(points), grid) - qw) / (qs - qw)
    return float(np.trapezoid(pgr, grid) / (cs - cw))


def weak_strong(singles: dict) -> tuple[str, str]:
    """Weak = cheapest single model; strong = most accurate (cheaper one on ties)."""
    weak = min(singles, key=lambda m: (singles[m][0], -singles[m][1]))
    strong = max(singles, key=lambda m: (singles[m][1], -singles[m][0]))
    return weak, strong


def curve_summary(points, singles: dict) -> dict:
    """AIQ and APGR of a curve against the single models of the same test table."""
    costs = [c for c, _ in singles.values()]
    weak, strong = weak_strong(singles)
    return {"aiq": aiq(points, min(costs), max(costs)),
            "apgr": apgr(points, singles[weak], singles[strong]),
            "weak_model": weak, "strong_model": strong}


def plot_curves(curves: dict, singles: dict, path, title: str, cost_label: str = "mean cost per query",
                marks: dict | None = None) -> None:
    """Save a PNG of each curve's hull and raw points, the single models and extra marks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, pts in curves.items():
        h = hull(pts)
        line, = ax.plot(h[:, 0], h[:, 1], "-", label=name, linewidth=1.6)
        raw = np.array(pts, dtype=float)
        ax.plot(raw[:, 0], raw[:, 1], ".", color=line.get_color(), alpha=0.25, markersize=3)
    for m, (c, q) in singles.items():
        ax.plot([c], [q], "kx", markersize=5)
        ax.annotate(m.split("/")[-1][:18], (c, q), fontsize=6, alpha=0.7)
    for name, (c, q) in (marks or {}).items():
        ax.plot([c], [q], "*", markersize=11, label=name)
    ax.set_xscale("log")
    ax.set_xlabel(cost_label + " (log scale)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    _save_png(fig, path)
    plt.close(fig)


def _save_png(fig, path) -> None:
    """Write the figure atomically."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png.tmp")
    from cadre.fsutil import share_with_umask

    share_with_umask(fd)  # mkstemp's 0600 would hide the file from other users
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, format="png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
