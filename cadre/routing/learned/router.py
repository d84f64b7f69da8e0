"""The learned router: predict each model's P(correct) for a prompt, then pick the cheapest
model that is likely enough to be right, or the best P − λ·cost.

Fitting lives in `fit` (re-exported here as `fit_learned`), the artifact in
`artifact`, features in `features`, calibration in `calibrator`, the
rules in `policy`. `load_router(folder)` returns a `LearnedRouter` for a folder
whose cadre.json says `router_kind: learned`, once this module is imported.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing.learned import policy
from cadre.routing.base import RouteChoice, Router, register_router
from cadre.routing.learned.artifact import load_artifact
from cadre.routing.learned.calibrator import prompt_shapes
from cadre.routing.learned.features import FeatureSpec, featurize
from cadre.routing.learned.fit import complete_rows, fit_learned  # noqa: F401  (re-exported)


class LearnedRouter(Router):
    """Routes a prompt to the cheapest model predicted to answer it correctly.

    `thresholds` (model → P, or one float for all) switches to the threshold rule; `lam`
    to the utility rule with that λ; `target_quality` or `budget` re-picks the operating
    point from the validation curve saved at fit time (never from test data); by default
    the artifact's calibrated operating point is used. `costs` (model → cost per call)
    replaces the learned per-format costs. `device` is accepted for the seeds' signature
    (`cpu`, `auto`, `cuda[:N]`): the predictors are small numpy/torch-CPU models that score
    in milliseconds, so they run on the CPU whatever it says.
    """

    def __init__(self, path: str | Path, thresholds: dict | float | None = None,
                 costs: dict | None = None, lam: float | None = None, cache=False,
                 target_quality: float | None = None, budget: float | None = None,
                 device: str = "cpu"):
        self.device = _check_device(device)
        self.path = Path(path)
        self.meta, self.model = load_artifact(self.path)
        models = self.meta["models"]
        op = self.meta["operating_point"]
        if target_quality is not None or budget is not None:
            op = {**op, **policy.pick_point(op["validation_curve"], target_quality, budget)}
        self.operating_point = op
        base_thr = op["param"] if op["objective"] == "threshold" else 0.5
        super().__init__(models, thresholds={m: base_thr for m in models})
        self.override_costs = self._check_costs(costs)
        self.spec = FeatureSpec.from_dict(self.meta["feature_spec"])
        self.encoder = None
        if self.model.text_table is not None:  # static text features: the router's own table
            from cadre.routing.learned.static_text import BlockEncoder

            self.encoder = BlockEncoder(self.model.text_table)
        self.objective, self.lam, self.cache = op["objective"], float(op["param"]), cache
        self.scale = float(op.get("cost_scale") or max(self.meta["costs"].values()))
        if isinstance(thresholds, (int, float)):
            thresholds = {m: float(thresholds) for m in models}
        if thresholds is not None:
            self.set_thresholds(thresholds)
            self.objective = "threshold"
        elif lam is not None:
            self.objective, self.lam = "utility", float(lam)

    def _check_costs(self, costs: dict | None) -> np.ndarray | None:
        if not costs:
            return None
        unknown = sorted(set(costs) - set(self.labels))
        if unknown:
            raise CadreError(f"costs name unknown model(s) {unknown}; models are {self.labels}")
        return np.array([float(costs.get(m, self.meta["costs"][m])) for m in self.labels])

    @property
    def costs(self) -> np.ndarray:
        """Mean cost per call of each model, (M,)."""
        if self.override_costs is not None:
            return self.override_costs
        return np.array([self.meta["costs"][m] for m in self.labels])

    def predict_arrays(self, X: np.ndarray, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated P (N, M), expected cost per prompt and model (N, M)) from features."""
        P, ids = self.model.predict(X, self._shapes(X, prompts))
        costs = (np.tile(self.override_costs, (len(P), 1)) if self.override_costs is not None
                 else self.model.calibrator.row_costs(ids))
        return P, costs

    def _shapes(self, X: np.ndarray, prompts: Sequence[str]) -> np.ndarray:
        """The prompts' shape numbers: the feature columns that hold them when the spec
        has them (computed once per decision), else computed, (N, 12)."""
        from cadre.routing.learned.fit import spec_columns

        cols = spec_columns(self.spec).get("shape")
        if cols and X.shape[1] == self.spec.dim:
            return np.asarray(X[:, cols[0]:cols[1]], np.float32)
        return prompt_shapes(list(prompts))

    def score_batch(self, texts: Sequence[str], images: Sequence | None = None) -> np.ndarray:
        """P(correct) of every model for each text, shape (N, M)."""
        return self.predict_arrays(self.features(texts, images), texts)[0]

    def features(self, texts: Sequence[str], images: Sequence | None = None) -> np.ndarray:
        """The router's feature vectors of texts (and images), (N, D)."""
        return featurize(list(texts), images, self.spec, cache=self.cache, encoder=self.encoder)

    def choose(self, P: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """Model index per row under the current rule, (N,)."""
        if self.objective == "threshold":
            thr = np.array([self.thresholds[m] for m in self.labels])
            return policy.choose_threshold(P, costs, thr)
        return policy.choose_utility(P, costs, self.lam, self.scale)

    def route(self, text: str, images: Sequence | None = None) -> RouteChoice:
        """Choose a model for one prompt (and its images), with the rule in `reason`."""
        return self.route_batch([text], [images] if images else None)[0]

    def route_batch(self, texts: Sequence[str], images: Sequence | None = None) -> list[RouteChoice]:
        """Route many prompts with one batched scoring call."""
        X = self.features(texts, images)
        P, costs = self.predict_arrays(X, texts)
        return [self._explain(p, c, int(j)) for p, c, j in zip(P, costs, self.choose(P, costs))]

    def decide(self, text: str, scores: dict[str, float], threshold: float | None = None,
               chain: bool = True) -> RouteChoice:
        """Apply the router's own cost policy to precomputed scores (costs from the text's
        format); a threshold override does not apply: the policy picks the model."""
        row = np.array([scores[m] for m in self.labels], dtype=np.float32)
        ids = self.model.calibrator.clusters(prompt_shapes([text]))
        cost_row = (self.override_costs if self.override_costs is not None
                    else self.model.calibrator.row_costs(ids)[0])
        return self._explain(row, cost_row, int(self.choose(row[None, :], cost_row[None, :])[0]))

    def _cost_text(self, cost: float) -> str:
        unit = self.meta.get("cost_unit", "$")
        return f"{unit}{cost:.2g}" if unit == "$" else f"{cost:.3g} {unit}"

    def _explain(self, row: np.ndarray, costs: np.ndarray, j: int) -> RouteChoice:
        name, p = self.labels[j], float(row[j])
        scores = {m: float(v) for m, v in zip(self.labels, row)}
        if self.objective == "utility":
            reason = f"max P−λ·cost (λ={self.lam:.3g}): {name} P={p:.2f} ({self._cost_text(costs[j])})"
        elif p >= self.thresholds[name]:
            reason = (f"cheapest with P≥thr: {name} {p:.2f} ≥ {self.thresholds[name]:.2f} "
                      f"({self._cost_text(costs[j])})")
        else:
            reason = f"no model reaches its threshold → most likely: {name} {p:.2f} < {self.thresholds[name]:.2f}"
        return RouteChoice(name, p, scores, reason)


def _check_device(device: str) -> str:
    import re

    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", device):
        raise CadreError(f"device must be auto, cpu or cuda[:N], not {device!r}")
    return device


def load_learned(path: str | Path) -> LearnedRouter:
    """Loader used by `load_router` for `router_kind: learned` folders."""
    return LearnedRouter(path)


register_router("learned", LearnedRouter, load_learned)
