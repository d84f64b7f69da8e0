"""The ensemble router (MiniLM ⊕ TF-IDF → LinearSVC) with its out-of-scope detector,
on the real MiniLM and a small data set written here."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cadre.errors import CadreError
from cadre.routing import OUT_OF_SCOPE, load_router
from cadre.routing.intent.ensemble import EnsembleRouter

torch.set_num_threads(1)

TRAIN = {
    "balance": ["what's my account balance", "how much money do I have", "show my balance please",
                "how much is in checking", "tell me my savings balance", "what is left in my account"],
    "transfer": ["send 50 dollars to mom", "transfer money to savings", "move 100 to my checking account",
                 "wire cash to john", "send money to my brother", "transfer 20 pounds to alex"],
    "card_lost": ["I lost my card", "my credit card was stolen", "freeze my card it's missing",
                  "someone took my debit card", "I can't find my card anywhere", "block my stolen card"],
}
OOS = ["what's the weather tomorrow", "play some music", "how tall is mount everest", "tell me a joke",
       "who won the football game", "recipe for banana bread", "set an alarm for 7am", "what time is it in tokyo",
       "translate hello into french", "how do I fix a flat tyre", "book a table for two", "what's a good movie"]
TEST = [("how much cash do I have", "balance"), ("please send 30 euros to my sister", "transfer"),
        ("my card is gone", "card_lost"), ("what's my current balance", "balance")]


@pytest.fixture(scope="module")
def data():
    texts = [t for ts in TRAIN.values() for t in ts] + OOS
    labels = [k for k, ts in TRAIN.items() for _ in ts] + ["oos"] * len(OOS)
    return texts, labels


@pytest.fixture(scope="module")
def router(data):
    return EnsembleRouter.fit(*data, folds=3)


def test_routes_and_has_an_oos_detector(router):
    assert router.has_detector and OUT_OF_SCOPE in router.labels
    assert [router.route(t).name for t, _ in TEST] == [g for _, g in TEST]
    probs = router.score_batch([t for t, _ in TEST])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_oos_text_scores_lower_in_scope_probability(router):
    oos_col = router.labels.index(OUT_OF_SCOPE)
    inside = router.score_batch([t for t, _ in TEST])[:, oos_col]
    outside = router.score_batch(["who painted the sistine chapel", "how do volcanoes form"])[:, oos_col]
    assert outside.mean() > inside.mean()


def test_save_load_round_trip_and_corruption(router, tmp_path):
    router.set_thresholds({"transfer": 0.2})
    router.save(tmp_path / "ens")
    loaded = load_router(tmp_path / "ens")
    texts = [t for t, _ in TEST] + ["", "🏦💳", "我的卡丢了"]
    np.testing.assert_allclose(loaded.score_batch(texts), router.score_batch(texts), atol=1e-5)
    assert loaded.thresholds["transfer"] == 0.2
    (tmp_path / "ens" / "vocab.json").write_text("{")
    with pytest.raises(CadreError, match="corrupt ensemble router"):
        load_router(tmp_path / "ens")


def test_without_oos_examples_no_detector(data):
    texts, labels = data
    inscope = [(t, label) for t, label in zip(texts, labels) if label != "oos"]
    plain = EnsembleRouter.fit([t for t, _ in inscope], [label for _, label in inscope])
    assert not plain.has_detector and OUT_OF_SCOPE not in plain.labels
    with pytest.raises(CadreError, match="single class"):
        EnsembleRouter.fit(["a", "b"], ["x", "x"])
