"""The budget rule of `policy.pick_point`: spend the budget unless that measurably
costs accuracy."""
import numpy as np
import pytest

from cadre.errors import CadreError
from cadre.routing.learned import policy


def _pt(param, acc, cost, rows=2000):
    return {"param": param, "accuracy": acc, "cost": cost, "rows": rows}


def test_budget_spends_when_accuracy_is_within_noise():
    # se at 0.86 with 2000 rows ≈ 0.0078: 0.858 is within it, so the dearer point wins
    points = [_pt(1.0, 0.80, 1.0), _pt(0.5, 0.860, 2.0), _pt(0.3, 0.858, 2.9), _pt(0.1, 0.90, 4.0)]
    op = policy.pick_point(points, budget=3.0)
    assert op["param"] == 0.3 and op["reached"]


def test_budget_keeps_accuracy_when_spending_loses_more_than_noise():
    points = [_pt(1.0, 0.80, 1.0), _pt(0.5, 0.860, 2.0), _pt(0.3, 0.830, 2.9)]
    assert policy.pick_point(points, budget=3.0)["param"] == 0.5


def test_curve_without_row_counts_falls_back_to_most_accurate():
    points = [{k: v for k, v in _pt(*a).items() if k != "rows"}
              for a in ((0.5, 0.860, 2.0), (0.3, 0.858, 2.9))]
    assert policy.pick_point(points, budget=3.0)["param"] == 0.5


def test_unreachable_budget_gives_cheapest_and_says_so():
    op = policy.pick_point([_pt(0.5, 0.86, 2.0), _pt(0.3, 0.87, 2.9)], budget=1.0)
    assert op["param"] == 0.5 and not op["reached"]
    with pytest.raises(CadreError):
        policy.pick_point([_pt(0.5, 0.86, 2.0)])


def test_sweep_points_carry_row_counts_and_fit_budget_on_real_arrays():
    rng = np.random.default_rng(0)
    P = rng.uniform(size=(300, 3))
    Y = (rng.uniform(size=(300, 3)) < P).astype(np.float32)
    C = np.tile([1.0, 3.0, 10.0], (300, 1))
    points = policy.sweep(P, Y, C, C[0], "utility")
    assert all(p["rows"] == 300 for p in points)
    op = policy.pick_point(points, budget=4.0)
    assert op["val_cost"] <= 4.0
    within = [p for p in points if p["cost"] <= 4.0]
    best = max(p["accuracy"] for p in within)
    assert op["val_accuracy"] >= best - np.sqrt(best * (1 - best) / 300) - 1e-12
