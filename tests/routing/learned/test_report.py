"""Cost–quality hull, AIQ, APGR, oracle and the plot, on hand-made numbers."""
from __future__ import annotations

import numpy as np
import pytest

from cadre.routing.learned import report as rr


def test_hull_is_non_decreasing_and_concave():
    pts = [(1, 0.5), (2, 0.55), (2, 0.75), (3, 0.9), (4, 0.85), (2.5, 0.6)]
    h = rr.hull(pts)
    assert h[:, 0].tolist() == [1, 2, 3] and h[:, 1].tolist() == [0.5, 0.75, 0.9]
    assert rr.hull_value(h, np.array([0.5, 1.5, 10]))[0] == 0.0
    assert rr.hull_value(h, np.array([1.5]))[0] == pytest.approx(0.625)
    assert rr.hull_value(h, np.array([10]))[0] == pytest.approx(0.9)


def test_apgr_of_random_mixing_is_half_and_of_a_perfect_router_is_one():
    weak, strong = (1.0, 0.5), (3.0, 0.9)
    assert rr.apgr([weak, strong], weak, strong) == pytest.approx(0.5, abs=1e-3)
    assert rr.apgr([weak, (1.0, 0.9)], weak, strong) == pytest.approx(1.0, abs=1e-3)
    assert rr.apgr([weak], weak, strong) == pytest.approx(0.0, abs=1e-3)


def test_aiq_is_mean_hull_quality_over_the_model_cost_range():
    assert rr.aiq([(0.0, 0.4), (1.0, 0.8)], 0.0, 1.0) == pytest.approx(0.6, abs=1e-3)
    assert rr.aiq([(0.0, 0.8)], 0.0, 1.0) == pytest.approx(0.8, abs=1e-3)
    better = rr.aiq([(0.0, 0.4), (0.2, 0.8)], 0.0, 1.0)
    assert better > 0.75


def test_oracle_singles_and_selection():
    Y = np.array([[1, 1], [0, 1], [0, 0]], dtype=float)
    C = np.array([[1, 5], [1, 5], [1, 5]], dtype=float)
    acc, cost = rr.oracle(Y, C)
    assert acc == pytest.approx(2 / 3) and cost == pytest.approx((1 + 5 + 1) / 3)
    singles = rr.single_models(Y, C, ["cheap", "dear"])
    assert singles["dear"] == (5.0, pytest.approx(2 / 3))
    assert rr.weak_strong(singles) == ("cheap", "dear")
    assert rr.selection_frequency(np.array([0, 1, 1]), ["cheap", "dear"])["dear"] == pytest.approx(2 / 3)


def test_per_model_metrics_and_plot(tmp_path):
    Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    P = np.array([[0.9, 0.2], [0.1, 0.7], [0.8, 0.4], [0.3, 0.1]])
    m = rr.per_model_metrics(P, Y, ["a", "b"])
    assert m["a"]["auc"] == 1.0 and m["a"]["accuracy"] == 1.0 and m["b"]["accuracy"] == 0.75
    out = tmp_path / "curve.png"
    rr.plot_curves({"r": [(1, 0.5), (2, 0.8)]}, {"a": (1, 0.5), "b": (3, 0.8)}, out, "t",
                   marks={"op": (2, 0.8)})
    assert out.read_bytes()[:4] == b"\x89PNG"
