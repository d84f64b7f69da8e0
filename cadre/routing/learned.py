"""The learned router: predict each model's P(correct) for a prompt, then pick the cheapest
model that is likely enough to be right (or the best P − λ·cost).

`fit_learned` trains one of four predictor kinds (mlp, knn, gbdt, mf) with K-fold
cross-fitting: each fold's model predicts the rows it did not see, so every training row
gets an out-of-fold prediction. Those predictions are the validation split carved from
train: per-model Platt calibration and the operating point (λ or a shared threshold,
matched to a target quality or a budget) are chosen on them, never on a test table. The
K fold models are averaged at routing time (kNN, which has no training, uses all rows).

An artifact folder holds `cadre.json` (`router_kind: learned`, `learned_format`, models,
costs, feature spec, operating point, hyper-parameters, validation metrics) and
`weights.safetensors` (every array, no pickles). `load_router(folder)` returns a
`LearnedRouter` once this module is imported.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing import learned_policy as policy
from cadre.routing.base import RouteChoice, Router, register_router
from cadre.routing.learned_embed import FEATURIZER_VERSION, FeatureSpec, featurize
from cadre.routing.learned_models import predictor_class, random_search, validation_logloss

LEARNED_FORMAT = 1
WEIGHTS = "weights.safetensors"
KINDS = ("mlp", "knn", "gbdt", "mf")


def spec_columns(spec: FeatureSpec) -> dict:
    """Column ranges of each view inside the feature vector (for GBDT's passthrough)."""
    from cadre.routing.learned_embed import IMAGE_DIM, SHAPE_DIM, TEXT_DIM

    cols, start = {}, 0
    for name, on, width in (("focus", spec.focus, TEXT_DIM), ("pooled", spec.pooled, TEXT_DIM),
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
            progress(f"fold {k + 1}/{folds} done")
    if kind == "knn":  # nothing is learned: the kept model simply remembers every row
        members = [cls.fit(X, Y, hp, seed, spec_cols)]
    return oof, members


def table_costs(C: np.ndarray, models: Sequence[str], costs: dict | None) -> tuple[np.ndarray, str]:
    """Per-model cost per call: given, else the table's mean, else 1.0 each."""
    if costs:
        unknown = sorted(set(costs) - set(models))
        if unknown:
            raise CadreError(f"costs name unknown model(s) {unknown}; models are {list(models)}")
    means = np.array([np.nanmean(C[:, j]) if np.isfinite(C[:, j]).any() else np.nan
                      for j in range(len(models))])
    if costs:
        out = np.array([costs.get(m, means[j]) for j, m in enumerate(models)], dtype=np.float64)
        source = "given"
    else:
        out, source = means, "table mean"
    if np.isnan(out).any():
        missing = [m for m, c in zip(models, out) if np.isnan(c)]
        if not np.isnan(out).all():
            raise CadreError(f"no cost for model(s) {missing}; add model_costs or pass costs")
        out, source = np.ones(len(models)), "uniform (the table has no model_costs)"
    return out, source


def complete_rows(Y: np.ndarray) -> np.ndarray:
    """Boolean mask of rows that have every model's score (the rows a choice can be judged on)."""
    return ~np.isnan(Y).any(axis=1)


def choose_operating_point(P: np.ndarray, Y: np.ndarray, C: np.ndarray, costs: np.ndarray,
                           objective: str, target_quality: float | None,
                           budget: float | None, models: Sequence[str]) -> dict:
    """Calibrate λ or the shared threshold on validation predictions.

    Without a target or budget, the target is the validation accuracy of the most accurate
    single model: match the strongest model for as little as possible.
    """
    rows = complete_rows(Y)
    if rows.sum() == 0:
        rows = np.ones(len(Y), dtype=bool)
    Pv, Yv = P[rows], Y[rows]
    Cv = np.where(np.isnan(C[rows]), costs[None, :], C[rows])
    default_target = None
    if target_quality is None and budget is None:
        accs = np.nanmean(Yv, axis=0)
        best = int(np.nanargmax(accs))
        target_quality, default_target = float(accs[best]), models[best]
    op = policy.calibrate(Pv, Yv, Cv, costs, objective, target_quality, budget)
    op["chosen_on"] = f"out-of-fold predictions on {int(rows.sum())} training rows"
    op["target_is_best_single_model"] = default_target
    return op


def fit_learned(table, output: str | Path, kind: str = "mlp", tune: bool = False, seed: int = 0,
                folds: int = 5, objective: str = "utility", target_quality: float | None = None,
                budget: float | None = None, costs: dict | None = None, spec: FeatureSpec | None = None,
                hp: dict | None = None, cache=True, cost_unit: str = "$", trials: int = 8,
                features: np.ndarray | None = None, progress=None) -> dict:
    """Train a learned router on a RoutingTable and write its artifact folder; returns its metadata."""
    import torch

    if kind not in KINDS:
        raise CadreError(f"unknown learned-router kind {kind!r}; choose one of {list(KINDS)}")
    if objective not in ("utility", "threshold"):
        raise CadreError(f"objective must be 'utility' or 'threshold', not {objective!r}")
    torch.manual_seed(seed)
    Y, C, models = table.score_matrix(), table.cost_matrix(), table.models
    folds = max(2, min(folds, len(Y) // 4))
    if len(Y) < 8:
        raise CadreError(f"{table.report.path}: {len(Y)} usable rows; the learned router needs at least 8")
    spec = spec or FeatureSpec(images=any(r.images for r in table.rows))
    X = features if features is not None else featurize(
        table.prompts, [r.images for r in table.rows], spec, cache, progress=bool(progress))
    cols = spec_columns(spec)
    cls = predictor_class(kind)
    params, trials_log = {**cls.defaults, **(hp or {})}, []
    if tune:
        params, trials_log = random_search(kind, X, Y, seed, cols, trials)
    oof, members = cross_fit(kind, X, Y, params, seed, folds, cols, progress)
    platt = policy.platt_fit(oof, Y)
    P = policy.platt_apply(oof, platt)
    cost_vec, cost_source = table_costs(C, models, costs)
    op = choose_operating_point(P, Y, C, cost_vec, objective, target_quality, budget, models)
    meta = {
        "type": "router", "router_kind": "learned", "learned_format": LEARNED_FORMAT,
        "predictor": kind, "models": list(models), "costs": dict(zip(models, map(float, cost_vec))),
        "cost_source": cost_source, "cost_unit": cost_unit, "feature_spec": spec.to_dict(),
        "featurizer_version": FEATURIZER_VERSION, "hyperparameters": params, "tuning": trials_log,
        "members": len(members), "folds": folds, "seed": seed, "operating_point": op,
        "train_rows": len(Y), "data_sha256": _data_hash(table),
        "validation": {"oof_logloss_raw": validation_logloss(oof, Y),
                       "oof_logloss_calibrated": validation_logloss(P, Y)},
        "table_report": table.report.to_dict(),
    }
    save_artifact(output, meta, members, platt)
    return meta


def _data_hash(table) -> str:
    h = hashlib.sha256()
    for r in table.rows:
        h.update(r.prompt.encode("utf-8", "surrogatepass"))
        h.update(repr(sorted(r.scores.items())).encode())
    return h.hexdigest()


def save_artifact(output: str | Path, meta: dict, members: list, platt: np.ndarray) -> None:
    """Write weights.safetensors and cadre.json into `output`, atomically."""
    from safetensors.numpy import save_file

    from cadre.checkpoint import write_metadata
    from cadre.fsutil import atomic_dir

    arrays = {"platt": np.ascontiguousarray(platt)}
    for i, m in enumerate(members):
        arrays.update({f"member{i}.{k}": np.ascontiguousarray(v) for k, v in m.arrays.items()})
    meta = {**meta, "member_configs": [m.config for m in members]}
    with atomic_dir(output) as tmp:
        save_file(arrays, str(tmp / WEIGHTS))
        write_metadata(tmp, meta)


def load_artifact(path: str | Path) -> tuple[dict, list, np.ndarray]:
    """Read and check an artifact folder: (metadata, predictors, Platt parameters)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from cadre.checkpoint import read_metadata

    path = Path(path)
    meta = read_metadata(path)
    if meta.get("router_kind") != "learned":
        raise CadreError(f"{path}: not a learned-router folder (router_kind {meta.get('router_kind')!r})")
    if meta.get("learned_format") != LEARNED_FORMAT:
        raise CadreError(f"{path}: learned-router format {meta.get('learned_format')!r} is not "
                         f"{LEARNED_FORMAT}; refit it with `cadre router fit-learned`")
    if meta.get("featurizer_version") != FEATURIZER_VERSION:
        raise CadreError(f"{path}: built with featurizer version {meta.get('featurizer_version')!r}, "
                         f"this cadre has {FEATURIZER_VERSION}; refit it")
    try:
        arrays = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CadreError(f"{path / WEIGHTS}: missing, corrupt or truncated ({exc})") from None
    cls = predictor_class(meta["predictor"])
    members = []
    for i, cfg in enumerate(meta["member_configs"]):
        prefix = f"member{i}."
        members.append(cls(cfg, {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}))
    return meta, members, arrays["platt"]


class LearnedRouter(Router):
    """Routes a prompt to the cheapest model predicted to answer it correctly.

    `thresholds` (model → P, or one float for all) switches to the threshold rule; `lam`
    to the utility rule with that λ; by default the artifact's calibrated operating point
    is used. `costs` (model → cost per call) overrides the costs learned from the table.
    """

    def __init__(self, path: str | Path, thresholds: dict | float | None = None,
                 costs: dict | None = None, lam: float | None = None, cache=False):
        self.path = Path(path)
        self.meta, self.members, self.platt = load_artifact(self.path)
        models = self.meta["models"]
        op = self.meta["operating_point"]
        base_thr = op["param"] if op["objective"] == "threshold" else 0.5
        super().__init__(models, thresholds={m: base_thr for m in models})
        self.costs, _ = table_costs(np.array([[self.meta["costs"][m] for m in models]]), models, costs)
        self.spec = FeatureSpec.from_dict(self.meta["feature_spec"])
        self.objective, self.lam, self.cache = op["objective"], float(op["param"]), cache
        if isinstance(thresholds, (int, float)):
            thresholds = {m: float(thresholds) for m in models}
        if thresholds is not None:
            self.set_thresholds(thresholds)
            self.objective = "threshold"
        elif lam is not None:
            self.objective, self.lam = "utility", float(lam)

    def predict_features(self, X: np.ndarray) -> np.ndarray:
        """Calibrated P(correct) from feature vectors: the mean over members, (N, M)."""
        raw = np.mean([m.predict(X) for m in self.members], axis=0)
        return policy.platt_apply(raw, self.platt)

    def score_batch(self, texts: Sequence[str], images: Sequence | None = None) -> np.ndarray:
        """P(correct) of every model for each text, shape (N, M)."""
        X = featurize(list(texts), images, self.spec, cache=self.cache)
        return self.predict_features(X)

    def choose(self, P: np.ndarray) -> np.ndarray:
        """Model index per row under the current rule, (N,)."""
        if self.objective == "threshold":
            thr = np.array([self.thresholds[m] for m in self.labels])
            return policy.choose_threshold(P, self.costs, thr)
        return policy.choose_utility(P, self.costs, self.lam, float(np.max(self.costs)))

    def route(self, text: str, images: Sequence | None = None) -> RouteChoice:
        """Choose a model for one prompt (and its images), with the rule in `reason`."""
        return self.route_batch([text], [images] if images else None)[0]

    def route_batch(self, texts: Sequence[str], images: Sequence | None = None) -> list[RouteChoice]:
        """Route many prompts with one batched scoring call."""
        P = self.score_batch(texts, images)
        return [self._explain(row, int(j)) for row, j in zip(P, self.choose(P))]

    def decide(self, text: str, scores: dict[str, float]) -> RouteChoice:
        """Apply the rule to precomputed scores."""
        row = np.array([scores[m] for m in self.labels], dtype=np.float32)
        return self._explain(row, int(self.choose(row[None, :])[0]))

    def _cost_text(self, j: int) -> str:
        unit, c = self.meta.get("cost_unit", "$"), float(self.costs[j])
        return f"{unit}{c:.2g}" if unit == "$" else f"{c:.3g} {unit}"

    def _explain(self, row: np.ndarray, j: int) -> RouteChoice:
        name, p = self.labels[j], float(row[j])
        scores = {m: float(v) for m, v in zip(self.labels, row)}
        if self.objective == "utility":
            reason = f"max P−λ·cost (λ={self.lam:.3g}): {name} P={p:.2f} ({self._cost_text(j)})"
        elif p >= self.thresholds[name]:
            reason = f"cheapest with P≥thr: {name} {p:.2f} ≥ {self.thresholds[name]:.2f} ({self._cost_text(j)})"
        else:
            reason = f"no model reaches its threshold → most likely: {name} {p:.2f} < {self.thresholds[name]:.2f}"
        return RouteChoice(name, p, scores, reason)


def load_learned(path: str | Path) -> LearnedRouter:
    """Loader used by `load_router` for `router_kind: learned` folders."""
    return LearnedRouter(path)


register_router("learned", LearnedRouter, load_learned)
