"""Fitting a learned router (stage 3) and choosing its operating point (stage 4).

`fit_learned` trains one or several predictor kinds (mlp, linear, knn, gbdt, mf; several are
given as "knn+mlp") with K-fold cross-fitting: each fold's model predicts the rows it did
not see, so every training row gets an out-of-fold prediction. Those predictions are the
validation split carved from train: the calibrator (format clusters, stacked
calibration, per-format costs; see `calibrator`) and the operating point (λ or a
shared threshold, matched to a target quality or a budget) are chosen on them, never on a
test table. At routing time the K fold models of a kind are averaged (kNN, which learns
nothing, keeps one copy over all rows).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing.learned import policy
from cadre.routing.learned import report as rr
from cadre.routing.learned.artifact import RouterModel, save_artifact
from cadre.routing.learned.calibrator import Calibrator, prompt_shapes
from cadre.routing.learned.features import FeatureSpec, featurize
from cadre.routing.learned.predictors import predictor_class, random_search, validation_logloss

KINDS = ("mlp", "linear", "knn", "gbdt", "mf")


def parse_kinds(kind: str) -> list[str]:
    """"mlp" or "knn+mlp" → ["mlp"] / ["knn", "mlp"], with a clear error for unknown names."""
    kinds = [k.strip() for k in kind.replace(",", "+").split("+") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise CadreError(f"unknown learned-router kind {kind!r}; choose from {list(KINDS)} "
                         f"(several joined with '+')")
    return list(dict.fromkeys(kinds))


def spec_columns(spec: FeatureSpec) -> dict:
    """Column ranges of each view inside the feature vector (for GBDT's passthrough)."""
    from cadre.routing.learned.features import IMAGE_DIM, SHAPE_DIM

    cols, start = {}, 0
    for name, on, width in (("focus", spec.focus, spec.text_dim), ("pooled", spec.pooled, spec.text_dim),
                            ("shape", spec.shape, SHAPE_DIM), ("images", spec.images, IMAGE_DIM)):
        if on:
            cols[name] = (start, start + width)
            start += width
    return cols


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """Seeded assignment of n rows to folds 0..folds-1, balanced."""
    return np.random.default_rng(seed).permutation(n) % folds


def cross_fit(kind: str, X: np.ndarray, Y: np.ndarray, hp: dict, seed: int, folds: int,
              spec_cols: dict, progress=None) -> tuple[np.ndarray, list]:
    """Out-of-fold P (N, M) and the predictors to keep (fold models, or one on all rows)."""
    cls = predictor_class(kind)
    ids = fold_ids(len(X), folds, seed)
    oof = np.full(Y.shape, np.nan, dtype=np.float32)
    members = []
    for k in range(folds):
        model = cls.fit(X[ids != k], Y[ids != k], hp, seed + k, spec_cols)
        oof[ids == k] = model.predict(X[ids == k])
        members.append(model)
        if progress:
            progress(f"{kind}: fold {k + 1}/{folds} done")
    if kind == "knn":  # nothing is learned: the kept model simply remembers every row
        members = [cls.fit(X, Y, hp, seed, spec_cols)]
    return oof, members


def mean_costs(C: np.ndarray, models: Sequence[str], costs: dict | None) -> tuple[np.ndarray, str]:
    """Per-model cost per call: given, else the table's mean, else 1.0 each."""
    if costs:
        unknown = sorted(set(costs) - set(models))
        if unknown:
            raise CadreError(f"costs name unknown model(s) {unknown}; models are {list(models)}")
    with np.errstate(all="ignore"):
        means = np.array([np.nanmean(C[:, j]) if np.isfinite(C[:, j]).any() else np.nan
                          for j in range(len(models))])
    if costs:
        out = np.array([costs.get(m, means[j]) for j, m in enumerate(models)], dtype=np.float64)
        source = "given"
    else:
        out, source = means, "table mean"
    if np.isnan(out).any():
        if not np.isnan(out).all():
            missing = [m for m, c in zip(models, out) if np.isnan(c)]
            raise CadreError(f"no cost for model(s) {missing}; add model_costs or pass costs")
        out, source = np.ones(len(models)), "uniform (the table has no model_costs)"
    return out, source


def complete_rows(Y: np.ndarray) -> np.ndarray:
    """Boolean mask of rows that have every model's score (counted in reports; no figure
    is restricted to them: a missing score is unknown for that model only)."""
    return ~np.isnan(Y).any(axis=1)


def choose_operating_point(P: np.ndarray, Y: np.ndarray, C: np.ndarray, row_costs: np.ndarray,
                           objective: str, target_quality: float | None, budget: float | None,
                           models: Sequence[str], match_best: str = "se") -> dict:
    """Calibrate λ or the shared threshold on validation predictions.

    Every row counts: a missing score is unknown for that model only, so each point is
    judged on the rows whose chosen model has a score and each single model on its known
    rows. Without a target or budget, the target comes from the most accurate single model: its
    validation accuracy less one standard error (`match_best="se"`, the default: the
    cheapest point measurably no worse than it), or exactly (`"exact"`). The result says
    what the point saves against that model.
    """
    if match_best not in ("se", "exact"):
        raise CadreError(f"match_best must be 'se' or 'exact', not {match_best!r}")
    Cv = np.where(np.isnan(C), row_costs, C)
    default_target = None
    with np.errstate(all="ignore"):
        accs = np.nanmean(Y, axis=0)  # each model on the rows where it has a score
    known = np.isfinite(Y).sum(axis=0)
    best = int(np.nanargmax(accs))
    if target_quality is None and budget is None:
        se = float(np.sqrt(max(accs[best] * (1 - accs[best]), 0.0) / max(int(known[best]), 1)))
        target_quality = float(accs[best]) - (se if match_best == "se" else 0.0)
        default_target = models[best]
    scale = policy.cost_scale(row_costs)
    op = policy.calibrate(P, Y, Cv, row_costs, objective, target_quality, budget, scale)
    op["cost_scale"] = scale
    best_cost = float(np.nanmean(Cv[:, best]))
    op["best_single_model"] = {"model": models[best], "val_accuracy": float(accs[best]), "val_cost": best_cost,
                               "val_rows": int(known[best])}
    op["saving_vs_best"] = 1 - op["val_cost"] / best_cost if best_cost > 0 else 0.0
    op["match_best"] = match_best if default_target else None
    point = next((p for p in op["validation_curve"] if p["param"] == op["param"]), {})
    op["judged_rows"] = int(point.get("rows", len(Y)))
    op["coverage"] = rr.coverage(Y, models)
    op["chosen_on"] = (f"out-of-fold predictions on {len(Y)} training rows × {len(models)} models "
                       f"(judged on the {op['judged_rows']} rows whose chosen model has a score)")
    op["target_is_best_single_model"] = default_target
    return op


def fit_learned(table, output: str | Path, kind: str = "mlp", tune: bool = False, seed: int = 0,
                folds: int = 5, objective: str = "utility", target_quality: float | None = None,
                budget: float | None = None, costs: dict | None = None, spec: FeatureSpec | None = None,
                hp: dict | None = None, cache=True, cost_unit: str = "$", trials: int = 8,
                clusters: int | None = None, features: np.ndarray | None = None,
                progress=None, match_best: str = "se") -> dict:
    """Train a learned router on a RoutingTable and write its artifact folder; returns its metadata.

    `kind` names one predictor kind or several joined by '+'; `hp` overrides hyper-parameters
    (a dict, or a dict per kind); `features` skips featurisation (they must match `spec`).
    `match_best` sets the default target (no target or budget given): "se", within one
    standard error of the best single model's validation accuracy, or "exact".
    """
    import torch

    kinds = parse_kinds(kind)
    if objective not in ("utility", "threshold"):
        raise CadreError(f"objective must be 'utility' or 'threshold', not {objective!r}")
    Y, C, models = table.score_matrix(), table.cost_matrix(), table.models
    if len(Y) < 8:
        raise CadreError(f"{table.report.path}: {len(Y)} usable rows; the learned router needs at least 8")
    unscored = [m for m, k in zip(models, np.isfinite(Y).sum(axis=0)) if k == 0]
    if unscored:
        raise CadreError(f"{table.report.path}: no score at all for model(s) {unscored}; "
                         f"leave them out (--models) or collect their scores")
    torch.manual_seed(seed)
    folds = max(2, min(folds, len(Y) // 4))
    spec = spec or FeatureSpec(images=any(r.images for r in table.rows))
    X = features if features is not None else featurize(
        table.prompts, [r.images for r in table.rows], spec, cache, progress=bool(progress))
    cols = spec_columns(spec)
    oofs, members, params, tuning = [], [], {}, {}
    per_kind = bool(hp) and any(x in hp for x in KINDS)
    for k in kinds:
        cls = predictor_class(k)
        own = (hp.get(k, {}) if per_kind else hp) or {}
        params[k] = {**cls.defaults, **own}
        if tune:
            params[k], tuning[k] = random_search(k, X, Y, seed, cols, trials)
        oof, kept = cross_fit(k, X, Y, params[k], seed, folds, cols, progress)
        oofs.append(oof)
        members += kept
    P_all = np.hstack(oofs)  # (N, len(kinds) · M)
    flat, cost_source = mean_costs(C, models, costs)
    calib = Calibrator.fit(P_all, Y, prompt_shapes(table.prompts), C if not costs else np.full_like(C, np.nan),
                           flat, clusters, seed)
    shapes_ids = calib.clusters(prompt_shapes(table.prompts))
    P = calib.apply(P_all, shapes_ids)
    row_costs = calib.row_costs(shapes_ids)
    op = choose_operating_point(P, Y, C, row_costs, objective, target_quality, budget, models, match_best)
    meta = {
        "models": list(models), "costs": dict(zip(models, map(float, flat))), "cost_source": cost_source,
        "cost_unit": cost_unit, "feature_spec": spec.to_dict(), "hyperparameters": params,
        "tuning": tuning, "folds": folds, "seed": seed, "clusters": calib.k,
        "cluster_cv_logloss": {int(k): float(v) for k, v in calib.arrays["cluster_cv_logloss"]},
        "operating_point": op,
        "train_rows": len(Y), "coverage": rr.coverage(Y, models), "data_sha256": _data_hash(table),
        "validation": {"oof_logloss_raw": {k: validation_logloss(o, Y) for k, o in zip(kinds, oofs)},
                       "oof_logloss_calibrated": validation_logloss(P, Y)},
        "table_report": table.report.to_dict(),
    }
    save_artifact(output, meta, RouterModel(kinds, members, calib, _text_table(spec)))
    return {**meta, "kinds": kinds}


def _text_table(spec: FeatureSpec) -> np.ndarray | None:
    """The static token table the features were built with (saved with the router)."""
    if spec.text != "static":
        return None
    from cadre.routing.learned.static_text import default_encoder

    return default_encoder().table


def _data_hash(table) -> str:
    h = hashlib.sha256()
    for r in table.rows:
        h.update(r.prompt.encode("utf-8", "surrogatepass"))
        h.update(repr(sorted(r.scores.items())).encode())
    return h.hexdigest()
