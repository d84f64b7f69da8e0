"""The learned router's static text features: token-table sums per prompt block, cached
per block, and a saved router that carries its own table (issue 28)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from cadre.data.routing_tables import read_routing_table
from cadre.routing.learned import static_text
from cadre.routing.learned.features import FeatureSpec, featurize, focus_text
from cadre.routing.learned.router import LearnedRouter, fit_learned

FEW_SHOT = ("Question: What is 3 plus 4?\nAnswer: 7\n\nQuestion: What is 10 minus 2?\nAnswer: 8\n\n"
            "Question: {q}\nAnswer:")


@pytest.fixture(scope="module")
def encoder():
    return static_text.BlockEncoder(static_text.shared_table())


def test_a_prompt_is_the_sum_of_its_blocks_and_views_match_the_minilm_ones(encoder):
    prompt = FEW_SHOT.format(q="How many legs do three spiders have in total?")
    whole = encoder._sums([prompt])[0]
    parts = static_text.blocks(prompt)
    by_block = encoder._sums(parts).sum(axis=0)
    np.testing.assert_allclose(whole, by_block, rtol=1e-4, atol=1e-4)  # WordPiece splits on whitespace
    focus, pooled = encoder.views([prompt])
    assert "\n\n".join(parts[static_text.focus_start(parts):]) == focus_text(prompt)
    np.testing.assert_allclose(focus[0], encoder._sums([focus_text(prompt)])[0]
                               / np.linalg.norm(encoder._sums([focus_text(prompt)])[0]), atol=1e-5)
    np.testing.assert_allclose(pooled[0], whole / np.linalg.norm(whole), atol=1e-5)


def test_shared_few_shot_blocks_are_tokenized_once(encoder, monkeypatch):
    enc = static_text.BlockEncoder(encoder.table)
    seen = []
    real = enc._sums
    monkeypatch.setattr(enc, "_sums", lambda texts: seen.extend(texts) or real(texts))
    first = enc.views([FEW_SHOT.format(q="What is 6 times 7?")])
    assert len(seen) == 3
    seen.clear()
    second = enc.views([FEW_SHOT.format(q="What is 9 times 9?")])
    assert seen == ["Question: What is 9 times 9?\nAnswer:"]  # only the new block
    assert not np.allclose(first[0], second[0])
    fresh = static_text.BlockEncoder(encoder.table).views([FEW_SHOT.format(q="What is 9 times 9?")])
    np.testing.assert_allclose(second[1], fresh[1], atol=1e-6)  # the cache changes nothing


def test_the_cache_is_bounded(encoder):
    enc = static_text.BlockEncoder(encoder.table, cache_blocks=4)
    enc.views([f"block {i}\n\nanother {i}" for i in range(5)])
    assert len(enc.cache) == 4


def test_a_spec_saved_before_the_text_option_is_minilm():
    old = {"focus": True, "pooled": True, "shape": True, "images": False}
    assert FeatureSpec.from_dict(old).text == "minilm" and FeatureSpec.from_dict(old).dim == 384 * 2 + 12
    assert FeatureSpec().text == "static" and FeatureSpec().dim == 256 * 2 + 12
    with pytest.raises(Exception, match="unknown text encoder"):
        FeatureSpec(text="bert")


def test_a_saved_static_router_routes_without_the_distilled_cache(tmp_path, monkeypatch):
    rows = []
    for i in range(32):
        math = i % 2 == 0
        prompt = f"What is {i} plus {i + 3}?" if math else f"Write a short poem about the colour number {i}."
        rows.append({"prompt": prompt, "model_scores": {"small": int(math), "big": 1},
                     "model_costs": {"small": 0.001, "big": 0.01}})
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "router"
    fit_learned(read_routing_table(path), out, kind="linear", folds=2, hp={"C": 1.0}, cache=False)
    meta = json.loads((out / "cadre.json").read_text())
    assert meta["feature_spec"]["text"] == "static" and meta["featurizer_version"] == 2
    before = LearnedRouter(out).score_batch(["What is 40 plus 2?", "Write a poem about rain."])

    def no_cache():
        raise AssertionError("the router must use its own token table")

    monkeypatch.setattr(static_text, "shared_table", no_cache)
    static_text.default_encoder.cache_clear()
    try:
        router = LearnedRouter(out)
        after = router.score_batch(["What is 40 plus 2?", "Write a poem about rain."])
        np.testing.assert_allclose(after, before, atol=1e-6)
        assert router.route("What is 17 plus 5?").name == "small"
        assert router.route("Write a poem about the sea and the wind.").name == "big"
    finally:
        static_text.default_encoder.cache_clear()


def test_featurize_caches_static_features_under_the_table_digest(tmp_path):
    X = featurize(["hello there", "What is 2 plus 2?"], cache=tmp_path)
    again = featurize(["hello there", "What is 2 plus 2?"], cache=tmp_path)
    np.testing.assert_array_equal(X, again)
    assert len(list(tmp_path.glob("*.npy"))) == 1
