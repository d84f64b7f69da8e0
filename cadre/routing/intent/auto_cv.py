"""Cross-validation for `--kind auto`: stratified folds on the user's training data, and
each candidate kind scored out of fold on cached features.

Sentence vectors are a pure function of the text, so MiniLM and the static encoder run
once over all texts; every fold then fits only its head (LinearSVC over TF-IDF ⊕
vectors, or a logistic-regression head). Out-of-fold probabilities (N, C) come back
with the fold accuracies: they set the softmax temperature, the no-OOS threshold guard
and the nano's distillation targets.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from cadre.routing.intent.encoders import MINILM, NONE, STATIC

EMBED_SCALE = 2.0  # weight of the sentence vectors beside TF-IDF (the ensemble's default)
LARGE = 4000  # training rows from which data counts as large (auto: one held-out fold; no weight search)
# Weights auto cross-validates on small data (under LARGE rows), where TF-IDF has few n-grams
# to learn from and the sentence vectors deserve more; the first is the default (kept on ties).
SMALL_DATA_SCALES = (EMBED_SCALE, 3.0, 4.0)
SVC_C = 0.5
EMBEDDING_HEAD = {"head": "logreg", "epochs": 60, "lr": 1e-2}  # the `--kind embedding` head too
LINEAR_KINDS = {"tfidf": NONE, "fast": STATIC, "ensemble": MINILM}  # kind -> encoder beside TF-IDF


@dataclass
class Folds:
    """Fold index per row (N,), the number of folds, and what was said about the data."""

    index: np.ndarray
    k: int
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rounds: int | None = None  # folds scored (1 with --val: train on the rest, score fold 0)

    def __post_init__(self):
        self.rounds = self.k if self.rounds is None else self.rounds


def val_folds(n_train: int, n_val: int) -> Folds:
    """Train rows, then validation rows: one round that fits on train and scores on val."""
    index = np.concatenate([np.ones(n_train, dtype=np.int64), np.zeros(n_val, dtype=np.int64)])
    return Folds(index, 2, [f"candidates scored on --val ({n_val} examples)"], [], rounds=1)


@dataclass
class Scored:
    """One candidate's cross-validated result."""

    kind: str
    fold_accuracy: list[float]
    probs: np.ndarray | None = None  # out-of-fold probabilities (N, C); rows never held out are NaN
    temperature: float = 5.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)  # what the final fit can reuse (cascade: its gap)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.fold_accuracy)) if self.fold_accuracy else float("nan")

    @property
    def spread(self) -> float:
        return float(np.std(self.fold_accuracy)) if len(self.fold_accuracy) > 1 else 0.0


def plan_folds(labels: Sequence[str], folds: int = 5, seed: int = 0) -> Folds:
    """Stratified folds: each class's rows dealt round-robin in a seeded order. Folds are
    reduced to the smallest class with at least two examples (with a note); a class
    with one example gets a warning naming it (it can only be scored, never learnt, in
    the fold that holds it out)."""
    labels = list(labels)
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    single = sorted(c for c, n in counts.items() if n < 2)
    warnings = [f"class {c!r} has only {counts[c]} example; give it at least 2 (better 10+) so the router "
                "can learn it and cross-validation can score it" for c in single]
    smallest = min((n for n in counts.values() if n >= 2), default=2)
    k, notes = max(2, folds), []
    if smallest < k:
        notes.append(f"cross-validation folds reduced from {k} to {max(2, smallest)}: the smallest class has "
                     f"{smallest} examples")
        k = max(2, smallest)
    rng = np.random.default_rng(seed)
    index = np.zeros(len(labels), dtype=np.int64)
    start = 0
    for label in sorted(counts):
        rows = rng.permutation([i for i, l in enumerate(labels) if l == label])
        index[rows] = (start + np.arange(len(rows))) % k
        start += len(rows)  # classes continue where the last left off: fold sizes stay even
    return Folds(index, k, notes, warnings)


def fold_tfidf(texts, train, held, cache: dict | None, key):
    """(TF-IDF fitted on `train` rows, its transform of them, of `held` rows); kept in
    `cache` under `key` so that every linear kind's fold reuses them."""
    from cadre.routing.intent.tfidf import TfidfFeatures

    if cache is not None and key in cache:
        return cache[key]
    tfidf = TfidfFeatures.fit([texts[i] for i in train])
    parts = (tfidf, tfidf.transform([texts[i] for i in train]), tfidf.transform([texts[i] for i in held]))
    if cache is not None:
        cache[key] = parts
    return parts


def linear_fold(texts, x, y, n_classes, train, held, embed_scale: float = EMBED_SCALE, cache=None, key=None):
    """Fit TF-IDF ⊕ vectors → LinearSVC on `train` rows; margins for `held` rows and the parts."""
    from cadre.routing.intent.ensemble_math import margins
    from cadre.routing.intent.ensemble_fit import fit_linear

    scale = embed_scale if x.shape[1] else 0.0
    tfidf, words_train, words_held = fold_tfidf(texts, train, held, cache, key)
    tfidf, W, b = fit_linear(None, x[train], y[train], n_classes, SVC_C, scale, (tfidf, words_train))
    d = margins(words_held, x[held], {"W": W, "b": b}, scale)
    return d, (tfidf, W, b, scale)


def head_fold(x, y, n_classes, train, held):
    """Fit the embedding router's logistic-regression head on `train` rows; logits for `held`."""
    from cadre.routing.intent.embedding import head_logits
    from cadre.routing.intent.heads import fit_head

    weights = fit_head(x[train], y[train], n_classes, **EMBEDDING_HEAD)
    return head_logits(weights, x[held]), weights


def cross_validate(kind: str, texts: list[str], x: np.ndarray, y: np.ndarray, n_classes: int, folds: Folds,
                   timer: Callable | None = None, cache: dict | None = None,
                   embed_scale: float = EMBED_SCALE) -> Scored:
    """Out-of-fold scores of a linear kind ("tfidf", "fast", "ensemble", with the vectors
    weighted `embed_scale` beside TF-IDF) or "embedding"; `timer(kind, parts, held_rows)`,
    when given, times the first fold's model; `cache` shares each fold's TF-IDF between
    the linear kinds."""
    from cadre.routing.intent.embedding import softmax
    from cadre.routing.intent.ensemble_fit import fit_temperature

    out = np.full((len(y), n_classes), np.nan, dtype=np.float32)
    accuracy, timed = [], None
    for k in range(folds.rounds):
        train, held = np.where(folds.index != k)[0], np.where(folds.index == k)[0]
        if not len(held) or len(np.unique(y[train])) < 2:
            continue
        if kind == "embedding":
            d, parts = head_fold(x, y, n_classes, train, held)
        else:
            d, parts = linear_fold(texts, x, y, n_classes, train, held, embed_scale, cache, ("tfidf", k))
        out[held] = d
        accuracy.append(float((d.argmax(axis=1) == y[held]).mean()))
        if timed is None and timer is not None:
            timed = timer(kind, parts, held)
    seen = ~np.isnan(out[:, 0])
    temperature = 1.0 if kind == "embedding" else fit_temperature(out[seen], y[seen])
    probs = np.full_like(out, np.nan)
    probs[seen] = softmax(out[seen] * temperature)
    scored = Scored(kind, accuracy, probs, temperature)
    if kind != "embedding" and x.shape[1]:
        scored.extra["embed_scale"] = embed_scale
    if timed:
        scored.p50_ms, scored.p99_ms = timed
    return scored


def best_scale(kind: str, texts, x, y, n_classes: int, folds: Folds, timer, cache, scales) -> Scored:
    """The linear kind cross-validated with each vector weight in `scales`: the row of the
    most accurate (the first on ties; timed once, on the first)."""
    rows = [cross_validate(kind, texts, x, y, n_classes, folds, timer if i == 0 else None, cache, scale)
            for i, scale in enumerate(scales)]
    best = max(rows, key=lambda r: round(r.accuracy, 6))  # max keeps the first of equals
    best.p50_ms, best.p99_ms = rows[0].p50_ms, rows[0].p99_ms  # the weight does not change the cost
    if len(rows) > 1:
        tried = ", ".join(f"{r.extra['embed_scale']:g}: {r.accuracy:.4f}" for r in rows)
        best.note = f"vector weight {best.extra['embed_scale']:g}, cross-validated ({tried})"
    return best


def keyword_scores(router, texts: list[str], labels: list[str], folds: Folds) -> Scored:
    """A rules router has nothing to fit: its accuracy on each fold's rows."""
    names = [c.name for c in router.route_batch(texts)]
    hits = np.array([n == g for n, g in zip(names, labels)])
    return Scored("keyword", [float(hits[folds.index == k].mean()) for k in range(folds.rounds)])


def time_one_thread(router, texts: Sequence[str], samples: int) -> tuple[float, float]:
    """Latency on one torch thread (the serving setting), whatever the training threads."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return time_router(router, texts, samples)
    finally:
        torch.set_num_threads(previous)


def time_router(router, texts: Sequence[str], samples: int) -> tuple[float, float]:
    """p50 and p99 (ms of the calling thread's CPU) of single `route()` calls over held-out
    texts (a few warm-up calls first): CPU time, so that the choice made on a busy machine
    is the one an idle machine would make."""
    import time

    from cadre.evaluation.intent import latency

    found = latency(router, list(texts), samples=samples, warmup=3, clock=time.thread_time)
    return found["p50_ms"], found["p99_ms"]
