"""Evaluation metrics: classification (accuracy, macro-F1, per-class report, confusion
matrix) and text similarity (exact match, ROUGE-L, BLEU, chrF).

Labels may be any hashable values (strings or ints). Heavy imports (sklearn, sacrebleu,
rouge-score) happen inside the functions that need them, so importing this module is
cheap. Every function returns plain Python floats/lists/dicts, ready for JSON.
"""
from __future__ import annotations

import re
import string
from collections.abc import Hashable, Sequence

from cadre.errors import CadreError


def _check_pair(y_true: Sequence, y_pred: Sequence) -> None:
    if len(y_true) != len(y_pred):
        raise CadreError(f"metrics: {len(y_true)} references but {len(y_pred)} predictions")


def accuracy(y_true: Sequence[Hashable], y_pred: Sequence[Hashable]) -> float:
    """Fraction of predictions equal to the reference (0.0 for empty input)."""
    _check_pair(y_true, y_pred)
    if not y_true:
        return 0.0
    return sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)


def _label_set(y_true: Sequence, y_pred: Sequence, labels: Sequence | None = None) -> list:
    """Labels in a stable order: the given ones, else the sorted union of both sides."""
    if labels is not None:
        return list(labels)
    return sorted(set(y_true) | set(y_pred), key=lambda v: (str(type(v)), v))


def per_class_report(y_true: Sequence[Hashable], y_pred: Sequence[Hashable],
                     labels: Sequence[Hashable] | None = None) -> dict:
    """Per-class precision, recall, F1 and support.

    Returns `{str(label): {"precision", "recall", "f1", "support"}}`. A class never
    predicted has precision 0; a class never present has recall 0 (sklearn's
    zero_division=0 convention).
    """
    _check_pair(y_true, y_pred)
    out = {}
    for lab in _label_set(y_true, y_pred, labels):
        tp = sum(t == lab and p == lab for t, p in zip(y_true, y_pred))
        n_pred = sum(p == lab for p in y_pred)
        n_true = sum(t == lab for t in y_true)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_true if n_true else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[str(lab)] = {"precision": prec, "recall": rec, "f1": f1, "support": n_true}
    return out


def macro_f1(y_true: Sequence[Hashable], y_pred: Sequence[Hashable],
             labels: Sequence[Hashable] | None = None) -> float:
    """Unweighted mean F1 over classes.

    By default the classes are those present in `y_true`: a stray predicted label such
    as "unparsed" adds no class of its own (unlike sklearn's default), it only counts
    as a miss in the recall of the true class.
    """
    _check_pair(y_true, y_pred)
    if not y_true:
        return 0.0
    labs = list(labels) if labels is not None else _label_set(y_true, [], None)
    report = per_class_report(y_true, y_pred, labs)
    return sum(r["f1"] for r in report.values()) / len(report)


def confusion(y_true: Sequence[Hashable], y_pred: Sequence[Hashable],
              labels: Sequence[Hashable]) -> list[list[int]]:
    """Confusion matrix as nested lists: rows are true labels, columns predictions.

    Predictions outside `labels` (e.g. an unparsable answer) are not counted in any
    column, so a row may sum to less than the class support.
    """
    _check_pair(y_true, y_pred)
    index = {lab: i for i, lab in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(y_true, y_pred):
        if t in index and p in index:
            matrix[index[t]][index[p]] += 1
    return matrix


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation: lowercase, drop punctuation, articles and extra spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(references: Sequence[str], predictions: Sequence[str],
                normalize: bool = True) -> float:
    """Fraction of predictions equal to their reference (after normalize_answer by default)."""
    _check_pair(references, predictions)
    if not references:
        return 0.0
    norm = normalize_answer if normalize else (lambda s: s.strip())
    return sum(norm(r) == norm(p) for r, p in zip(references, predictions)) / len(references)


def rouge_l(references: Sequence[str], predictions: Sequence[str]) -> float:
    """Mean ROUGE-L F-measure (rouge-score, with stemming), in [0, 1]."""
    from rouge_score import rouge_scorer

    _check_pair(references, predictions)
    if not references:
        return 0.0
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scores = [scorer.score(r, p)["rougeL"].fmeasure for r, p in zip(references, predictions)]
    return sum(scores) / len(scores)


def bleu(references: Sequence[str], predictions: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu, one reference per prediction), scaled to [0, 1]."""
    import sacrebleu

    _check_pair(references, predictions)
    if not references:
        return 0.0
    return min(1.0, sacrebleu.corpus_bleu(list(predictions), [list(references)]).score / 100.0)


def chrf(references: Sequence[str], predictions: Sequence[str]) -> float:
    """Corpus chrF (sacrebleu), scaled to [0, 1]."""
    import sacrebleu

    _check_pair(references, predictions)
    if not references:
        return 0.0
    return min(1.0, sacrebleu.corpus_chrf(list(predictions), [list(references)]).score / 100.0)


METRICS = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
    "exact_match": exact_match,
    "rouge_l": rouge_l,
    "bleu": bleu,
    "chrf": chrf,
}


def get_metric(name: str):
    """Look up a metric `f(references, predictions) -> float` by name."""
    if name not in METRICS:
        raise CadreError(f"unknown metric {name!r}; valid: {', '.join(sorted(METRICS))}")
    return METRICS[name]
