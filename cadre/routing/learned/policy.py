"""Stage 4's decision rules and their calibration, on arrays (no I/O, no torch).

Two rules turn P(correct) per model into a choice:

- `threshold`: the cheapest model whose P is at or above its threshold; when none
  qualifies, the most likely model (the fallback rule);
- `utility`: the model maximising P − λ · cost / cost_scale (cost_scale = the dearest
  model's mean cost, so λ is "accuracy points given up per dearest-model call saved").

Costs are either one figure per model (M,) or one per prompt and model (N, M), such as
the expected cost for the prompt's format. `calibrate` picks the operating point (one
shared threshold, or λ) on *validation* predictions: the cheapest point whose accuracy
reaches a target, or, for a budget, the point that spends the most of it without being
measurably less accurate than the best point within it (see `pick_point`).
"""
from __future__ import annotations

import numpy as np

from cadre.errors import CadreError

THRESHOLD_GRID = np.round(np.linspace(0.0, 1.0, 101), 4)
# λ steps of 1.4%: a coarser grid makes cost jump past a budget in blocks of rows
LAMBDA_GRID = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 961)])


def choose_threshold(P: np.ndarray, costs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Index of the cheapest model with P ≥ its threshold, else of the most likely; (N,)."""
    ok = P >= thresholds[None, :]  # (N, M)
    cheapest = np.where(ok, np.broadcast_to(costs, P.shape), np.inf).argmin(axis=1)
    return np.where(ok.any(axis=1), cheapest, P.argmax(axis=1))


def choose_utility(P: np.ndarray, costs: np.ndarray, lam: float, cost_scale: float) -> np.ndarray:
    """Index of the model with the highest P − λ·cost/cost_scale; (N,)."""
    return (P - lam * np.broadcast_to(costs, P.shape) / max(cost_scale, 1e-12)).argmax(axis=1)


def cost_scale(costs: np.ndarray) -> float:
    """The dearest model's mean cost: the unit of λ."""
    costs = np.asarray(costs, np.float64)
    return float(np.max(costs.mean(axis=0) if costs.ndim == 2 else costs))


def outcome(choice: np.ndarray, Y: np.ndarray, C: np.ndarray) -> tuple[float, float]:
    """(accuracy, mean cost) of a choice per row, given true scores Y and costs C (N, M).

    A missing score (NaN) is unknown for that model only: accuracy is judged on the rows
    whose chosen model has a score (`judged` counts them), cost on the rows with a cost.
    """
    rows = np.arange(len(choice))
    with np.errstate(all="ignore"):
        return float(np.nanmean(Y[rows, choice])), float(np.nanmean(C[rows, choice]))


def judged(choice: np.ndarray, Y: np.ndarray) -> int:
    """How many rows `outcome` judges: those whose chosen model has a score."""
    return int(np.isfinite(Y[np.arange(len(choice)), choice]).sum())


def sweep(P: np.ndarray, Y: np.ndarray, C: np.ndarray, costs: np.ndarray,
          objective: str = "utility", scale: float | None = None) -> list[dict]:
    """Every operating point of a rule on (P, Y, C): [{param, accuracy, cost}, ...].

    `costs` are what the rule decides with; C is what each choice is charged.
    """
    points = []
    scale = scale or cost_scale(costs)
    grid = LAMBDA_GRID if objective == "utility" else THRESHOLD_GRID
    for g in grid:
        choice = (choose_utility(P, costs, g, scale) if objective == "utility"
                  else choose_threshold(P, costs, np.full(P.shape[1], g)))
        acc, cost = outcome(choice, Y, C)
        points.append({"param": float(g), "accuracy": acc, "cost": cost, "rows": judged(choice, Y)})
    return points


def calibrate(P: np.ndarray, Y: np.ndarray, C: np.ndarray, costs: np.ndarray,
              objective: str = "utility", target_quality: float | None = None,
              budget: float | None = None, scale: float | None = None) -> dict:
    """Choose the operating point on validation data; returns a JSON-ready dict that
    includes the whole validation curve (so another target or budget can be picked later).
    """
    points = sweep(P, Y, C, costs, objective, scale)
    return {**pick_point(points, target_quality, budget), "objective": objective,
            "validation_curve": points}


def pick_point(points: list[dict], target_quality: float | None = None,
               budget: float | None = None) -> dict:
    """Pick from a validation curve; exactly one of `target_quality` and `budget` is given.

    With `target_quality`: the cheapest point whose validation accuracy reaches it (else
    the most accurate point). With `budget`: among the points whose validation mean cost
    is within it, the dearest one whose accuracy is within one standard error of the
    most accurate one (else the cheapest point). Along a calibrated router's curve,
    spending more buys accuracy in expectation, while the validation accuracies of nearby
    points differ mostly by noise; validation cost is measured far more precisely.
    """
    if (target_quality is None) == (budget is None):
        raise CadreError("give exactly one of a target quality or a budget")
    if target_quality is not None:
        ok = [p for p in points if p["accuracy"] >= target_quality]
        best = (min(ok, key=lambda p: (p["cost"], -p["accuracy"])) if ok
                else max(points, key=lambda p: (p["accuracy"], -p["cost"])))
    else:
        ok = [p for p in points if p["cost"] <= budget]
        best = (_spend_within(ok) if ok else min(points, key=lambda p: p["cost"]))
    return {"param": best["param"], "val_accuracy": best["accuracy"], "val_cost": best["cost"],
            "target_quality": target_quality, "budget": budget, "reached": bool(ok)}


def _spend_within(points: list[dict]) -> dict:
    """The dearest point whose accuracy is within one standard error of the best one's
    (a curve saved without row counts falls back to the most accurate point)."""
    top = max(points, key=lambda p: (p["accuracy"], -p["cost"]))
    rows = top.get("rows")
    if not rows:
        return top
    se = float(np.sqrt(max(top["accuracy"] * (1 - top["accuracy"]), 0.0) / rows))
    near = [p for p in points if p["accuracy"] >= top["accuracy"] - se]
    return max(near, key=lambda p: (p["cost"], p["accuracy"]))


# ---------------------------------------------------------------------- serving-side rule
# What a router in service decides with: its rule's parameters, read from the router's
# public fields or re-picked for a budget (nothing copied, nothing mutated).

class Rule:
    """One operating point of a learned router: choose, rank and explain on arrays."""

    def __init__(self, labels: list[str], objective: str, lam: float, thresholds: dict[str, float],
                 scale: float, cost_unit: str = "$"):
        self.labels, self.objective, self.lam, self.scale = list(labels), objective, float(lam), float(scale)
        self.thresholds = {m: float(thresholds.get(m, 0.0)) for m in self.labels} if thresholds else {}
        self.cost_unit = cost_unit

    def _thr(self) -> np.ndarray:
        return np.array([self.thresholds[m] for m in self.labels])

    def choose(self, P: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """Model index per row, (N,)."""
        if self.objective == "threshold":
            return choose_threshold(P, costs, self._thr())
        return choose_utility(P, costs, self.lam, self.scale)

    def rank(self, p: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """Indices best first: utility for λ, else qualifying models by cost, then the rest by P."""
        if self.objective == "utility":
            return np.argsort(-(p - self.lam * costs / max(self.scale, 1e-12)), kind="stable")
        ok = p >= self._thr()
        return np.lexsort((np.where(ok, costs, np.inf), -p * (~ok), ~ok))

    def cost_text(self, cost: float) -> str:
        unit = self.cost_unit
        return f"{unit}{cost:.2g}" if unit == "$" else f"{cost:.3g} {unit}"

    def explain(self, p: np.ndarray, costs: np.ndarray, j: int) -> tuple[str, float, dict[str, float], str]:
        """(label, P, scores, reason) of choosing index j for one row."""
        name, pj = self.labels[j], float(p[j])
        scores = {m: float(v) for m, v in zip(self.labels, p)}
        if self.objective == "utility":
            reason = f"max P−λ·cost (λ={self.lam:.3g}): {name} P={pj:.2f} ({self.cost_text(costs[j])})"
        elif pj >= self.thresholds[name]:
            reason = f"cheapest with P≥thr: {name} {pj:.2f} ≥ {self.thresholds[name]:.2f} ({self.cost_text(costs[j])})"
        else:
            reason = f"no model reaches its threshold → most likely: {name} {pj:.2f} < {self.thresholds[name]:.2f}"
        return name, pj, scores, reason


def rule_of(router) -> Rule:
    """The rule a LearnedRouter decides with now (its public fields)."""
    return Rule(router.labels, router.objective, router.lam, dict(router.thresholds or {}), router.scale,
                router.meta.get("cost_unit", "$"))


def rule_at_budget(router, budget: float) -> Rule:
    """The router's rule at the validation-curve point that spends at most `budget`."""
    op = router.meta["operating_point"]
    point = pick_point(op["validation_curve"], None, budget)
    thresholds = ({m: float(point["param"]) for m in router.labels} if op["objective"] == "threshold"
                  else dict(router.thresholds or {}))
    return Rule(router.labels, op["objective"], float(point["param"]), thresholds, router.scale,
                router.meta.get("cost_unit", "$"))
