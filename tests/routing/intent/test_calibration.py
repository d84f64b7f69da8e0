"""Threshold calibration, the fallback chain and its reasons."""
from __future__ import annotations

import numpy as np
import pytest

from cadre.errors import CadreError
from cadre.routing import OUT_OF_SCOPE, Router
from cadre.routing.intent.calibration import apply_thresholds, fit_thresholds, outcome
from cadre.routing.intent.keyword import KeywordRouter


class FixedRouter(Router):
    """Scores from a dict keyed by text (a stand-in model, so reasons are exact)."""

    def __init__(self, table, labels, **kwargs):
        super().__init__(labels, **kwargs)
        self.table = table

    def score_batch(self, texts):
        return [self.table.get(t, [1.0 / len(self.labels)] * len(self.labels)) for t in texts]


def _synthetic(n=600, seed=0):
    """Three routes; confident rows are mostly right, unconfident ones mostly wrong, plus OOS rows."""
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c"]
    gold, probs = [], []
    for i in range(n):
        truth = labels[i % 3] if i % 10 else "oos"
        conf = rng.uniform(0.34, 1.0)
        right = truth != "oos" and rng.random() < conf
        guess = truth if right else labels[rng.integers(3)]
        row = np.full(3, (1 - conf) / 2)
        row[labels.index(guess)] = conf
        gold.append(truth)
        probs.append(row)
    return np.array(probs), gold, labels


def test_thresholds_reach_target_precision_on_their_data():
    probs, gold, labels = _synthetic()
    for target in (0.8, 0.9):
        thresholds = fit_thresholds(probs, gold, labels, target_precision=target, smoothing=0)
        pred = apply_thresholds(probs, labels, thresholds)
        kept = [(p, g) for p, g in zip(pred, gold) if p != OUT_OF_SCOPE]
        assert sum(p == g for p, g in kept) / len(kept) >= target - 1e-9
    low = fit_thresholds(probs, gold, labels, 0.8)
    high = fit_thresholds(probs, gold, labels, 0.95)
    assert all(high[k] >= low[k] for k in labels) and any(high[k] > low[k] for k in labels)


def test_thresholds_trade_in_scope_accuracy_for_oos_recall():
    probs, gold, labels = _synthetic(seed=1)
    none = outcome(apply_thresholds(probs, labels, {}), gold)
    fitted = outcome(apply_thresholds(probs, labels, fit_thresholds(probs, gold, labels, 0.9)), gold)
    assert none["oos_recall"] == 0.0 and fitted["oos_recall"] > 0.3
    assert fitted["oos_precision"] is not None and fitted["in_scope_accuracy"] <= none["in_scope_accuracy"]


def test_fallback_chain_every_step_in_reason():
    keyword = KeywordRouter.from_yaml()
    keyword.default_route = None
    table = {"draw a dog": [0.5, 0.3, 0.2], "zzz": [0.4, 0.35, 0.25], "sure": [0.95, 0.03, 0.02],
             "oos?": [0.1, 0.1, 0.8]}
    model = FixedRouter(table, ["chat", "code", OUT_OF_SCOPE], thresholds={"chat": 0.6, "code": 0.6},
                        fallback=keyword, default_route="chat")
    model.kind = "model"
    assert model.route("sure").reason == "model chat 0.95 ≥ 0.60"
    choice = model.route("draw a dog")
    assert (choice.name, choice.reason) == ("image", "model chat 0.50 < 0.60 → keyword image 1.00 ≥ 0.00")
    choice = model.route("zzz")
    assert (choice.name, choice.reason) == ("chat", "model chat 0.40 < 0.60 → keyword: no rule matched → default chat")
    choice = model.route("oos?")
    assert choice.name == "chat" and choice.reason.startswith("model says out_of_scope (0.80) → keyword")
    model.fallback, model.default_route = None, None
    assert model.route("zzz").name == OUT_OF_SCOPE


def test_unknown_route_in_thresholds_is_an_error():
    model = FixedRouter({}, ["a", "b"])
    with pytest.raises(CadreError, match=r"unknown route\(s\) \['z'\]"):
        model.set_thresholds({"a": 0.5, "z": 0.2})
    assert model.thresholds == {"a": 0.0, "b": 0.0}


def test_calibrate_rejects_bad_target():
    from cadre.routing.intent.fit import calibrate

    with pytest.raises(CadreError, match="target precision"):
        calibrate(FixedRouter({}, ["a", "b"]), ["x"], ["a"], 1.5)


def test_noisy_oos_column_is_ignored_when_thresholds_do_better():
    from cadre.routing.intent.calibration import NEVER

    rng = np.random.default_rng(2)
    labels = ["a", "b", OUT_OF_SCOPE]
    gold = ["a", "b"] * 100 + ["oos"] * 20
    probs = []
    for g in gold:
        if g == "oos":
            probs.append([0.3, 0.3, 0.4])
        else:
            row = [0.7, 0.1, 0.2] if g == "a" else [0.1, 0.7, 0.2]
            if rng.random() < 0.3:  # the oos column wrongly wins for 30% of in-scope rows
                row = [0.25, 0.25, 0.5] if g == "a" else [0.2, 0.3, 0.5]
            probs.append(row)
    thresholds = fit_thresholds(np.array(probs), gold, labels, target_precision=0.9)
    assert thresholds[OUT_OF_SCOPE] == NEVER
    result = outcome(apply_thresholds(np.array(probs), labels, thresholds), gold)
    assert result["in_scope_accuracy"] > 0.6 and result["oos_recall"] == 1.0
    model = FixedRouter({"x": [0.25, 0.25, 0.5]}, labels, thresholds=thresholds)
    assert model.route("x").name == apply_thresholds(np.array([[0.25, 0.25, 0.5]]), labels, thresholds)[0]
