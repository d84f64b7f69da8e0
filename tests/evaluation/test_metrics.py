"""Metrics against hand-computed values and sklearn/sacrebleu references."""
import pytest

from cadre.errors import CadreError
from cadre.evaluation import metrics as m


def test_accuracy_and_length_mismatch():
    assert m.accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    assert m.accuracy([], []) == 0.0
    with pytest.raises(CadreError, match="2 references but 1 predictions"):
        m.accuracy([1, 0], [1])


def test_macro_f1_matches_sklearn_on_shared_labels():
    from sklearn.metrics import f1_score

    y_true = ["a", "b", "c", "a", "b", "c", "a"]
    y_pred = ["a", "b", "b", "a", "c", "c", "b"]
    assert m.macro_f1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro"))


def test_macro_f1_ignores_stray_predicted_label():
    # "?" (an unparsable answer) is a miss, not an extra class with F1 0
    assert m.macro_f1(["a", "b"], ["a", "?"]) == pytest.approx((1.0 + 0.0) / 2)


def test_per_class_report_and_confusion():
    y_true, y_pred = ["pos", "pos", "neg", "neg"], ["pos", "neg", "neg", "neg"]
    rep = m.per_class_report(y_true, y_pred)
    assert rep["pos"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert rep["neg"]["precision"] == pytest.approx(2 / 3)
    assert m.confusion(y_true, y_pred, ["neg", "pos"]) == [[2, 0], [1, 1]]
    # a prediction outside the labels is counted nowhere
    assert m.confusion(["neg"], ["junk"], ["neg", "pos"]) == [[0, 0], [0, 0]]


def test_exact_match_normalises():
    assert m.exact_match(["The Cat!", "dog"], ["cat", "Dog ."]) == 1.0
    assert m.exact_match(["cat"], ["cats"]) == 0.0
    assert m.exact_match(["A b"], ["a b"], normalize=False) == 0.0


def test_text_similarity_metrics():
    ref = ["the quick brown fox jumps over the lazy dog"]
    assert m.rouge_l(ref, ref) == pytest.approx(1.0)
    assert m.bleu(ref, ref) == pytest.approx(1.0)
    assert m.chrf(ref, ref) == pytest.approx(1.0)
    worse = ["a slow red cat sleeps"]
    assert m.rouge_l(ref, worse) < 0.3 and m.bleu(ref, worse) < 0.1 and m.chrf(ref, worse) < 0.3
    half = ["the quick brown fox"]
    assert 0.3 < m.rouge_l(ref, half) < 1.0


def test_get_metric_rejects_unknown():
    assert m.get_metric("accuracy") is m.accuracy
    with pytest.raises(CadreError, match="valid: accuracy"):
        m.get_metric("f2")
