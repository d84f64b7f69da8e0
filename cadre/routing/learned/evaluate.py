"""Evaluating a LearnedRouter on a test routing table (stage 5), as one JSON-ready dict.

Every row counts: a missing score is unknown for that model only. The router's accuracy
is judged on the rows whose chosen model has a score (`judged_rows`), each single model
on the rows where it has one, the oracle among the models with a score; `coverage` says
how many rows and models the table has and how complete its scores are. A row's cost is
the table's cost for the chosen model, or the router's cost per call where the table
has none.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cadre.routing.learned import report as rr
from cadre.routing.learned import policy
from cadre.routing.learned.router import LearnedRouter
from cadre.routing.learned.features import featurize


def test_arrays(router: LearnedRouter, table, cache=True, features=None):
    """(P, expected costs, Y, C) on every row of the table, and its coverage (`rr.coverage`).

    Expected costs (N, M) are what the router decides with; C holds the table's actual
    costs (expected ones where the table has none), which the outcome is charged with.
    """
    X = features if features is not None else featurize(
        table.prompts, [r.images for r in table.rows], router.spec, cache, encoder=router.encoder)
    Y, C = table.score_matrix(), table.cost_matrix()
    P, E = router.predict_arrays(X, table.prompts)
    C = np.where(np.isnan(C), E, C)
    return P, E, Y, C, rr.coverage(Y, router.labels)


def evaluate(router: LearnedRouter, table, cache=True, features=None, plot: str | Path | None = None,
             title: str = "learned router") -> dict:
    """Accuracy, mean cost, oracle, per-model metrics, selections, curve, AIQ and APGR."""
    P, E, Y, C, cov = test_arrays(router, table, cache, features)
    models = router.labels
    choice = router.choose(P, E)
    acc, cost = policy.outcome(choice, Y, C)
    oracle_acc, oracle_cost = rr.oracle(Y, C)
    singles = rr.single_models(Y, C, models)
    curve = [(p["cost"], p["accuracy"]) for p in policy.sweep(P, Y, C, E, "utility", router.scale)]
    summary = rr.curve_summary(curve, singles)
    strong = singles[summary["strong_model"]]
    out = {
        "accuracy": acc, "mean_cost": cost, "oracle_accuracy": oracle_acc, "oracle_cost": oracle_cost,
        "aiq": summary["aiq"], "apgr": summary["apgr"],
        "zero_router_aiq": rr.aiq(list(singles.values()), min(c for c, _ in singles.values()),
                                  max(c for c, _ in singles.values())),
        "weak_model": summary["weak_model"], "strong_model": summary["strong_model"],
        "strong_accuracy": strong[1], "strong_cost": strong[0],
        "cost_vs_strong": cost / strong[0] if strong[0] else float("nan"),
        "objective": router.objective, "operating_param": router.lam if router.objective == "utility" else
        {m: router.thresholds[m] for m in models},
        "operating_point": {k: v for k, v in router.operating_point.items() if k != "validation_curve"},
        "eval_rows": int(len(Y)), "judged_rows": policy.judged(choice, Y), "coverage": cov,
        "selection": rr.selection_frequency(choice, models),
        "per_model": rr.per_model_metrics(P, Y, models),
        "single_models": {m: {"cost": c, "accuracy": q} for m, (c, q) in singles.items()},
        "curve": [{"cost": c, "accuracy": q} for c, q in curve],
        "bad_rows": table.report.to_dict(),
    }
    if plot:
        rr.plot_curves({title: curve}, singles, plot, title, marks={"operating point": (cost, acc)})
        out["plot"] = str(plot)
    return out
