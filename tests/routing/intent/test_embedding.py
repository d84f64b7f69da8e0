"""The embedding router on the real all-MiniLM-L6-v2: a trained head, nearest utterance,
save/load, calibration with out-of-scope examples, edge inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cadre.data.examples import Example
from cadre.errors import CadreError
from cadre.routing import OUT_OF_SCOPE, load_router
from cadre.routing.intent.embedding import EmbeddingRouter
from cadre.routing.intent.fit import calibrate, fit_embedding

torch.set_num_threads(1)

TRAIN = {
    "weather": ["will it rain tomorrow", "what's the forecast for the weekend", "is it sunny outside",
                "how cold is it today", "do I need an umbrella", "will it snow tonight"],
    "music": ["play some jazz", "put on my workout playlist", "skip this song", "turn the music up",
              "play the latest album by adele", "shuffle my favourite songs"],
    "cooking": ["how long do I boil an egg", "give me a recipe for pancakes", "how do I roast chicken",
                "what can I cook with rice and beans", "how to make tomato soup", "bake a chocolate cake"],
}
TEST = [("is it going to be windy this afternoon", "weather"), ("play something relaxing", "music"),
        ("how do I make lasagna", "cooking"), ("what's the temperature right now", "weather"),
        ("next track please", "music"), ("what goes into a good omelette", "cooking")]


def _examples(oos=()):
    rows = [Example(question=t, label=k) for k, ts in TRAIN.items() for t in ts]
    return rows + [Example(question=t, label="oos") for t in oos]


@pytest.fixture(scope="module")
def head_router():
    return fit_embedding(_examples(), head="logreg", epochs=60, lr=5e-2)


def test_trained_head_routes_held_out_texts(head_router):
    hits = sum(head_router.route(t).name == g for t, g in TEST)
    assert hits >= 5, [head_router.route(t).name for t, _ in TEST]
    assert head_router.route("will it hail").reason.startswith("embedding weather")


def test_mlp_head_and_nearest_mode_route_too():
    mlp = fit_embedding(_examples(), head="mlp", epochs=60, lr=5e-3, hidden=64)
    nearest = fit_embedding(_examples(), mode="nearest")
    for router in (mlp, nearest):
        assert sum(router.route(t).name == g for t, g in TEST) >= 5
    scores = nearest.scores("play some jazz")
    assert scores["music"] == pytest.approx(1.0, abs=1e-4)  # an exact training utterance
    assert {r.name: len(r.utterances) for r in nearest.routes()} == {k: 6 for k in TRAIN}


def test_save_load_round_trip(tmp_path, head_router):
    head_router.set_thresholds({"music": 0.3})
    head_router.save(tmp_path / "emb")
    loaded = load_router(tmp_path / "emb")
    assert isinstance(loaded, EmbeddingRouter) and loaded.thresholds["music"] == 0.3
    texts = [t for t, _ in TEST]
    np.testing.assert_allclose(loaded.score_batch(texts), head_router.score_batch(texts), atol=1e-6)
    (tmp_path / "emb" / "head.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(CadreError, match="corrupt or truncated"):
        load_router(tmp_path / "emb")


def test_oos_examples_get_thresholds_that_reject_them():
    oos = ["what's the capital of peru", "book me a dentist appointment", "how tall is mount everest",
           "tell me about quantum physics", "reset my router password", "who wrote hamlet"]
    router = fit_embedding(_examples(oos), head="logreg", epochs=60, lr=5e-2)
    assert OUT_OF_SCOPE in router.labels
    val_texts = [t for t, _ in TEST] + ["who painted the mona lisa", "buy train tickets to rome"]
    val_gold = [g for _, g in TEST] + ["oos", "oos"]
    thresholds = calibrate(router, val_texts, val_gold, target_precision=0.99)
    assert set(thresholds) == set(TRAIN) | {OUT_OF_SCOPE}  # the oos column gets a threshold too
    choice = router.route("who painted the mona lisa")
    assert choice.name == OUT_OF_SCOPE, choice


@pytest.mark.parametrize("text", ["", "x" * 5000, "今天会下雨吗", "هل ستمطر غدا", "☔️🌧️"])
def test_edge_inputs(head_router, text):
    choice = head_router.route(text)
    assert choice.name in set(TRAIN) | {OUT_OF_SCOPE} and choice.reason


def test_single_class_is_an_error():
    with pytest.raises(CadreError, match="single class"):
        fit_embedding([Example(question="a", label="x"), Example(question="b", label="x")])
