"""The parts of `--kind auto`: stratified folds and their notes, the no-OOS threshold guard,
the candidate choice rule, the single-text TF-IDF path, and the static-encoder router."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from cadre.errors import CadreError
from cadre.routing.intent.auto import check_candidates, choose
from cadre.routing.intent.auto_cv import Scored, plan_folds
from cadre.routing.intent.guard import guard_threshold


def test_folds_are_stratified_and_reduced_to_the_smallest_class():
    labels = ["a"] * 10 + ["b"] * 3 + ["c"]
    folds = plan_folds(labels, folds=5)
    assert folds.k == 3 and "reduced from 5 to 3" in folds.notes[0]
    assert len(folds.warnings) == 1 and "'c'" in folds.warnings[0]
    for label in ("a", "b"):
        rows = [i for i, l in enumerate(labels) if l == label]
        assert set(folds.index[rows]) == {0, 1, 2}  # every fold holds some of each class
    assert plan_folds(["a"] * 10 + ["b"] * 10, folds=5).notes == []


def test_guard_rejects_at_most_the_allowed_share_of_right_answers():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4) * 0.3, size=2000)  # (N, 4)
    y = probs.argmax(axis=1).copy()
    wrong = rng.random(2000) < 0.1
    y[wrong] = (y[wrong] + 1) % 4
    found = guard_threshold(probs, y, max_drop=0.0025)
    score, right = probs.max(axis=1), probs.argmax(axis=1) == y
    assert ((score < found["threshold"]) & right).mean() <= 0.0025
    assert found["in_scope_drop"] <= 0.0025 and found["threshold"] > probs.max(axis=1).min()
    assert guard_threshold(probs, y, max_drop=0.0)["in_scope_drop"] == 0.0


def test_choice_is_the_most_accurate_within_budget_else_the_fastest():
    table = [Scored("tfidf", [0.90, 0.92], p50_ms=0.2), Scored("ensemble", [0.95], p50_ms=9.0),
             Scored("fast", [0.93, 0.93], p50_ms=0.3)]
    assert choose(table, 2.0)[0].kind == "fast"
    assert choose(table, 20.0)[0].kind == "ensemble"
    chosen, notes = choose(table, 0.1)
    assert chosen.kind == "tfidf" and "fastest" in notes[0]
    with pytest.raises(CadreError, match="unknown candidate"):
        check_candidates(["tfidf", "psychic"])


def test_single_text_tfidf_matches_sklearn():
    from cadre.routing.intent.tfidf import TfidfFeatures

    texts = ["where is my card", "I lost my card yesterday", "exchange rate for euros", "top up failed again",
             "what's the fee for cash withdrawal?", "pin blocked", "card arrival time"] * 10
    tf = TfidfFeatures.fit(texts)
    probe = ["my card has not arrived", "", "zzzz", "EXCHANGE rate!!"]
    ref = sp.hstack([v.transform(probe) for v in tf.vectorizers]).tocsr()
    fast = sp.vstack([tf.transform([t]) for t in probe])
    assert abs(ref - fast).max() < 1e-6 and fast.shape == ref.shape  # float32 values


def test_fast_router_saves_its_own_token_table(tmp_path):
    from cadre.routing import load_router
    from cadre.routing.intent.encoders import STATIC
    from cadre.routing.intent.ensemble import EnsembleRouter

    texts = ["where is my card", "card has not arrived", "when will my card come", "track my new card",
             "euro exchange rate", "how much is a dollar in pounds", "currency conversion rate", "rate for yen"]
    labels = ["card"] * 4 + ["rate"] * 4
    router = EnsembleRouter.fit(texts, labels, encoder_name=STATIC, folds=0)
    router.save(tmp_path / "fast")
    loaded = load_router(tmp_path / "fast")
    assert loaded.encoder_name == STATIC and loaded.route("my card is late").name == "card"
    np.testing.assert_allclose(loaded.score_batch(texts), router.score_batch(texts), atol=2e-3)  # float16 table


def test_cascade_escalates_twice_the_share_that_suffices_out_of_fold():
    from cadre.routing.intent.cascade import MAX_ESCALATED, choose_gap, top_gap

    def fast_wrong_on(rows):  # fast-router probabilities, gaps spread evenly over [0, 1], wrong on `rows`
        gap = np.linspace(0.0, 1.0, 1000)
        fast = np.stack([0.5 + gap / 2, 0.5 - gap / 2], axis=1)
        fast[rows] = fast[rows, ::-1]
        return fast

    y, slow = np.zeros(1000, dtype=int), np.tile([0.9, 0.1], (1000, 1))  # the ensemble is always right
    fast = fast_wrong_on(slice(0, 100))  # wrong on the 10% it is least sure of
    limit, share = choose_gap(fast, slow, y)
    assert share == pytest.approx(0.2)  # 0.1 suffices out of fold; twice that goes on
    assert np.mean(top_gap(fast) < limit) == pytest.approx(0.2, abs=0.002)
    assert choose_gap(fast_wrong_on(slice(0, 250)), slow, y)[1] == MAX_ESCALATED  # 0.5 capped
    assert choose_gap(fast_wrong_on(slice(900, 1000)), slow, y)[1] == 0.0  # sure and wrong: escalating never helps


def test_auto_encodes_each_text_once_and_times_each_stage(tmp_path, monkeypatch):
    """MiniLM runs once over the training texts, shared by every candidate and fold (the
    other calls are single texts, for latency); each stage's CPU seconds are recorded."""
    import cadre.routing.intent.embedding as embedding
    from cadre.routing.intent.auto import AutoOptions, run_auto

    real, batches = embedding.default_encoder, []

    def counting(texts):
        batches.append(len(texts))
        return real(texts)

    monkeypatch.setattr(embedding, "default_encoder", counting)
    words = {"card": ["my card has not arrived", "where is my new card", "card still not here", "card delivery"],
             "rate": ["exchange rate for euros", "what rate do you use", "dollar exchange rate", "rate today"],
             "pin": ["my pin is blocked", "unblock my pin", "pin locked after tries", "forgot my pin"]}
    texts = [f"{t} {i}" for label, ts in words.items() for t in ts for i in range(3)]
    labels = [label for label, ts in words.items() for _ in ts for _ in range(3)]
    result = run_auto(texts, labels, AutoOptions(candidates=["tfidf", "fast", "embedding", "ensemble", "cascade"],
                                                 max_latency_ms=1000.0, latency_samples=3),
                      tmp_path / "r", log=lambda line: None)
    assert [b for b in batches if b > 1] == [len(texts)]
    assert {row.kind for row in result.table} == {"tfidf", "fast", "embedding", "ensemble", "cascade"}
    spent = result.summary(1000.0)["cpu_s"]
    assert {"features", "score tfidf", "score ensemble", "score cascade"} <= set(spent)
    assert any(stage.startswith("final fit") for stage in spent) and all(v >= 0 for v in spent.values())


def test_fewer_folds_on_large_data_and_hopeless_candidates_are_skipped(monkeypatch):
    from cadre.routing.intent import auto

    assert auto.fold_plan(auto.AutoOptions(), 500) == (5, None) and auto.fold_plan(auto.AutoOptions(), 10_000) == (5, 1)
    assert auto.fold_plan(auto.AutoOptions(folds=4), 10_000) == (4, None)
    from cadre.routing.intent.encoders import MINILM

    monkeypatch.setattr(auto, "_encoder_p50",
                        lambda name, texts, cache: cache.setdefault(name, 5.0 if name == MINILM else 0.0))
    kept, notes = auto.drop_hopeless(["tfidf", "embedding", "ensemble", "cascade"], 2.0, ["a", "b"])
    assert kept == ["tfidf", "ensemble", "cascade"]  # the cascade is scored from the ensemble's row: kept
    assert "embedding not cross-validated" in notes[0] and "5.00 ms" in notes[0]
    kept, _ = auto.drop_hopeless(["tfidf", "embedding"], 20.0, ["a"])
    assert kept == ["tfidf", "embedding"]
    # blend cannot win under 2 ms, so finetune (needed only by blend) is not fine-tuned for nothing
    kept, notes = auto.drop_hopeless(["fast", "ensemble", "cascade", "finetune", "blend"], 2.0, ["a"])
    assert kept == ["fast", "ensemble", "cascade"]
    assert [n.split()[0] for n in notes] == ["finetune", "blend"]
    kept, _ = auto.drop_hopeless(["fast", "ensemble", "cascade", "finetune", "blend"], 50.0, ["a"])
    assert kept == ["fast", "ensemble", "cascade", "finetune", "blend"]


def test_on_large_data_tfidf_is_left_to_fast_which_holds_its_features_and_more():
    from cadre.routing.intent import auto

    kept, notes = auto.drop_dominated(["tfidf", "fast", "ensemble", "cascade"], 10_000)
    assert kept == ["fast", "ensemble", "cascade"] and "tfidf not cross-validated" in notes[0]
    assert auto.drop_dominated(["tfidf", "fast"], 3_999) == (["tfidf", "fast"], [])  # small data: both scored
    assert auto.drop_dominated(["tfidf", "ensemble"], 10_000) == (["tfidf", "ensemble"], [])  # no fast: kept


def test_on_small_data_the_vector_weight_is_cross_validated_and_the_best_kept(monkeypatch):
    from cadre.routing.intent import auto_cv

    accuracy = {2.0: [0.80, 0.82], 3.0: [0.84, 0.84], 4.0: [0.84, 0.84]}

    def fake(kind, texts, x, y, n, folds, timer=None, cache=None, embed_scale=2.0):
        row = Scored(kind, accuracy[embed_scale], extra={"embed_scale": embed_scale})
        if timer is not None:
            row.p50_ms, row.p99_ms = 0.4, 0.9
        return row

    monkeypatch.setattr(auto_cv, "cross_validate", fake)
    best = auto_cv.best_scale("fast", [], None, None, 2, None, object(), None, (2.0, 3.0, 4.0))
    assert best.extra["embed_scale"] == 3.0  # 4.0 ties with it: the first of equals stays
    assert (best.p50_ms, best.p99_ms) == (0.4, 0.9)  # timed once, on the first weight
    assert "vector weight 3, cross-validated" in best.note and "2: 0.8100" in best.note
    one = auto_cv.best_scale("fast", [], None, None, 2, None, None, None, (2.0,))
    assert one.extra["embed_scale"] == 2.0 and one.note == ""


def test_the_final_fit_uses_the_weight_auto_chose():
    from cadre.routing.intent.auto_cv import EMBED_SCALE
    from cadre.routing.intent.encoders import STATIC, no_vectors
    from cadre.routing.intent.kinds import FitData, FitOptions, get_kind

    rng = np.random.default_rng(0)
    texts = [f"{w} text {i}" for i in range(30) for w in ("card", "rate", "pin")]
    labels = [w for _ in range(30) for w in ("card", "rate", "pin")]
    classes = sorted(set(labels))
    x = rng.normal(size=(len(texts), 8)).astype(np.float32)
    data = FitData(texts, labels, classes, np.array([classes.index(l) for l in labels]), len(texts),
                   {STATIC: (x, no_vectors)}, FitOptions())
    assert get_kind("fast").fit(data).embed_scale == EMBED_SCALE  # outside auto: the default
    data.table.append(Scored("fast", [0.9], temperature=3.0, extra={"embed_scale": 4.0}))
    data.cache.clear()
    router = get_kind("fast").fit(data)
    assert router.embed_scale == 4.0 and router.temperature == 3.0


def test_the_nano_is_called_distilled_only_when_its_training_rows_have_teacher_probabilities():
    from cadre.routing.intent.kinds_builtin import nano_note, teacher_columns

    classes, labels = ["a", "b"], ["a", "b"] * 5
    folds = plan_folds(labels, folds=5)
    held, train = np.where(folds.index == 0)[0], np.where(folds.index != 0)[0]
    one_fold = np.full((10, 2), np.nan)
    one_fold[held] = [0.8, 0.2]  # the teacher has probabilities for held-out rows only (one fold, or --val)
    teacher = Scored("ensemble", [0.9], one_fold)
    sub = [labels[i] for i in train]
    assert teacher_columns(teacher, train, classes, sub) is None
    assert "not distilled" in nano_note(teacher, None) and "ensemble" in nano_note(teacher, None)
    every_fold = Scored("ensemble", [0.9], np.tile([[3.0, 1.0]], (10, 1)))
    soft = teacher_columns(every_fold, train, classes, sub)
    assert soft.shape == (len(train), 2) and np.allclose(soft.sum(axis=1), 1.0)
    assert nano_note(every_fold, soft) == "1 fold; distilled from ensemble"
