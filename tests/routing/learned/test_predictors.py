"""Predictor internals on random arrays (no embeddings): GBDT tree export, masking, search."""
from __future__ import annotations

import numpy as np
import pytest

from cadre.errors import CadreError
from cadre.routing.learned import predictors as lm


def test_exported_trees_reproduce_sklearn_probabilities():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(scale=0.3, size=400) > 0.4).astype(int)
    X[::37, 2] = np.nan  # exercise the missing-value branch
    clf = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15, random_state=0).fit(X, y)
    arrays = lm._export_trees([p[0].nodes for p in clf._predictors],
                              float(np.ravel(clf._baseline_prediction)[0]), "m0.")
    ours = 1 / (1 + np.exp(-lm._tree_raw(X, arrays, "m0.")))
    np.testing.assert_allclose(ours, clf.predict_proba(X)[:, 1], rtol=1e-6, atol=1e-9)


def test_missing_scores_are_masked_and_constant_models_work():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 10)).astype(np.float32)
    Y = np.stack([(X[:, 0] > 0), np.ones(120)], axis=1).astype(np.float32)
    Y[::5, 0] = np.nan
    for kind, hp in (("gbdt", {"pca_dim": 4, "max_iter": 20}), ("knn", {"k": 5}), ("linear", {"C": 1.0}),
                     ("mlp", {"hidden_dims": [16], "epochs": 30, "learning_rate": 3e-3}),
                     ("mf", {"dim": 8, "epochs": 30})):
        cls = lm.predictor_class(kind)
        pred = cls.fit(X, Y, {**cls.defaults, **hp}, 0, {})
        P = pred.predict(X)
        assert P.shape == (120, 2) and np.isfinite(P).all() and ((P >= 0) & (P <= 1)).all()
        assert P[:, 1].mean() > 0.7, kind  # the always-right model is predicted right


def test_random_search_picks_from_the_grid_and_unknown_kind_errors():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 5)).astype(np.float32)
    Y = (X[:, :2] > 0).astype(np.float32)
    hp, trials = lm.random_search("knn", X, Y, seed=3, spec_cols={}, trials=3)
    assert len(trials) == 3 and hp["k"] in lm.KNN_GRID["k"]
    assert hp == min(trials, key=lambda t: t["val_logloss"])["hp"]
    with pytest.raises(CadreError, match="unknown learned-router kind"):
        lm.predictor_class("forest")
