"""The built-in intent router kinds, each registered once in `cadre.routing.intent.kinds`:
keyword, tfidf, fast, embedding, ensemble, cascade and nano. Every `fit` and `score`
reads sentence vectors from `FitData.feats`, computed once per text for all of them.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from cadre.errors import CadreError
from cadre.routing.intent.auto_cv import (EMBED_SCALE, EMBEDDING_HEAD, LARGE, LINEAR_KINDS, SMALL_DATA_SCALES,
                                          Scored, best_scale, cross_validate, keyword_scores,
                                          time_one_thread)
from cadre.routing.intent.encoders import MINILM, NONE, STATIC
from cadre.routing.intent.kinds import FitData, RouterKind, register_kind



# keyword -------------------------------------------------------------------------------
def fit_keyword(data: FitData):
    from cadre.routing.intent.keyword import DEFAULT_RULES, KeywordRouter

    rules = getattr(data.options, "rules", None)
    if rules or not data.texts:
        return KeywordRouter.from_yaml(rules or DEFAULT_RULES)
    return KeywordRouter.fit(data.texts, data.labels)


def score_keyword(data: FitData) -> Scored | None:
    from cadre.routing.intent.keyword import KeywordRouter

    rules = getattr(data.options, "rules", None)
    if not rules:
        return None  # a rules router is a candidate only when the user gives the rules
    router = KeywordRouter.from_yaml(rules)
    scored = keyword_scores(router, data.texts, data.labels, data.folds)
    scored.p50_ms, scored.p99_ms = time_one_thread(router, data.texts, data.options.latency_samples)
    scored.note = f"rules {Path(rules).name}"
    return scored


# tfidf, fast, ensemble: one linear classifier over TF-IDF ⊕ sentence vectors ---------------
def _linear(kind: str):
    encoder = LINEAR_KINDS[kind]

    def fit(data: FitData):
        from cadre.routing.intent.ensemble import EnsembleRouter

        from cadre.routing.intent.tfidf import TfidfFeatures

        x, enc = data.feats[encoder]
        scored = data.row(kind)
        scale = (scored.extra.get("embed_scale", EMBED_SCALE) if scored is not None else EMBED_SCALE) \
            if x.shape[1] else 0.0
        if "tfidf_all" not in data.cache:  # one TF-IDF for every linear router fitted on these rows (the cascade's two)
            tfidf = TfidfFeatures.fit(data.texts)
            data.cache["tfidf_all"] = (tfidf, tfidf.transform(data.texts))
        router = EnsembleRouter.fit(data.texts, data.labels, vectors=x, encoder=enc, encoder_name=encoder,
                                    embed_scale=scale, tfidf_parts=data.cache["tfidf_all"])
        if scored is not None and not router.has_detector:
            router.temperature = scored.temperature  # the scale auto's out-of-fold scores (and thresholds) were on
        return router

    def score(data: FitData) -> Scored:
        from cadre.routing.intent.ensemble import EnsembleRouter

        def timer(_, parts, held):
            tfidf, W, b, scale = parts
            router = EnsembleRouter(data.classes, tfidf, {"W": W, "b": b}, 5.0, scale,
                                    encoder=data.feats[encoder][1], encoder_name=encoder)
            return time_one_thread(router, [data.texts[i] for i in held], data.options.latency_samples)

        x = data.feats[encoder][0]
        scales = SMALL_DATA_SCALES if x.shape[1] and _small(data) else (EMBED_SCALE,)
        return best_scale(kind, data.texts, x, data.y, len(data.classes), data.folds, timer, data.cache, scales)

    return fit, score


def _small(data: FitData) -> bool:
    """Small training data (under LARGE rows): the vector weight is cross-validated."""
    return data.n_train < LARGE


# embedding -----------------------------------------------------------------------------
def fit_embedding(data: FitData):
    from cadre.routing.base import Route
    from cadre.routing.intent.embedding import EmbeddingRouter
    from cadre.labels import is_out_of_scope

    x, enc = data.feats[MINILM]
    if getattr(data.options, "mode", "head") == "nearest":
        by_route: dict[str, list[str]] = {}
        for text, label in zip(data.texts, data.labels):
            if not is_out_of_scope(label):
                by_route.setdefault(label, []).append(text)
        return EmbeddingRouter.from_routes([Route(k, v) for k, v in sorted(by_route.items())], encoder=enc)
    head = getattr(data.options, "head", "logreg")
    recipe = {k: v for k, v in EMBEDDING_HEAD.items() if k != "head"} if head == "logreg" else {}
    return EmbeddingRouter.fit(data.texts, data.labels, head=head, vectors=x, encoder=enc, **recipe)


def score_embedding(data: FitData) -> Scored:
    from cadre.routing.intent.embedding import EmbeddingRouter

    def timer(_, parts, held):
        router = EmbeddingRouter(data.classes, "head", parts, encoder=data.feats[MINILM][1])
        return time_one_thread(router, [data.texts[i] for i in held], data.options.latency_samples)

    return cross_validate("embedding", data.texts, data.feats[MINILM][0], data.y, len(data.classes), data.folds,
                          timer)


# cascade -------------------------------------------------------------------------------
def fit_cascade(data: FitData):
    """With auto's cascade row, its two routers fitted once each and the gap it chose on
    their out-of-fold scores; else CascadeRouter.fit (which cross-fits both to choose it)."""
    from cadre.routing.intent.cascade import CascadeRouter

    scored = data.row("cascade")
    if scored is not None and "escalate_below" in scored.extra:
        fast, slow = _linear("fast")[0](data), _linear("ensemble")[0](data)
        return CascadeRouter(fast, slow, scored.extra["escalate_below"], scored.extra["escalated_share"])
    return CascadeRouter.fit(data.texts, data.labels, vectors=data.feats[MINILM][0], embed_scale=EMBED_SCALE)


def score_cascade(data: FitData) -> Scored | None:
    from cadre.routing.intent.cascade import cascade_scored

    fast, slow = data.row("fast"), data.row("ensemble")
    if fast is None or slow is None:
        return None
    return cascade_scored(fast, slow, data.y, data.folds)


# nano: a small network distilled from the best candidate; trained by cadre.training ------
def fit_nano(data: FitData):
    trainer = data.trainers.get("nano")
    if trainer is None:
        raise CadreError("the nano router is trained by `cadre router train --kind nano`")
    teacher = teacher_columns(teacher_of(data.table), np.arange(len(data.y)), data.classes, data.labels)
    return trainer(data.texts, data.labels, teacher, Path(data.output))


def score_nano(data: FitData) -> Scored | None:
    """Train on every fold but the first, distilled from the best candidate; score on the first."""
    trainer = data.trainers.get("nano")
    if trainer is None or _cannot_beat_teacher(data):
        return None
    teacher, folds, labels, texts = teacher_of(data.table), data.folds, data.labels, data.texts
    train, held = np.where(folds.index != 0)[0], np.where(folds.index == 0)[0]
    sub = [labels[i] for i in train]
    soft = teacher_columns(teacher, train, data.classes, sub)
    if teacher is not None and soft is None and data.n_train == len(texts):  # one fold of k scored
        data.notes.append(f"nano not trained: {teacher.kind} was scored on one held-out fold, so it has no "
                          "probabilities for the nano's training rows to distil (--folds 5 scores every fold)")
        return None
    parent = Path(data.output).parent if data.output and Path(data.output).parent.is_dir() else None
    with tempfile.TemporaryDirectory(dir=parent) as tmp:
        router = trainer([texts[i] for i in train], sub, soft, Path(tmp) / "nano")
        probs = np.asarray(router.score_batch([texts[i] for i in held]))
        pred = [router.labels[j] for j in probs.argmax(axis=1)]
        accuracy = float(np.mean([p == labels[i] for p, i in zip(pred, held)]))
        out = np.full((len(data.y), len(data.classes)), np.nan, dtype=np.float32)
        out[np.ix_(held, [data.classes.index(label) for label in router.labels])] = probs
        out[held] = np.nan_to_num(out[held], nan=0.0)
        p50, p99 = time_one_thread(router, [texts[i] for i in held], data.options.latency_samples)
    return Scored("nano", [accuracy], out, 1.0, p50, p99, nano_note(teacher, soft))


def nano_note(teacher: Scored | None, soft) -> str:
    """What the nano learnt from: its teacher's probabilities, or (with --val, where the
    teacher has none for the nano's training rows) the gold labels only."""
    if soft is not None:
        return f"1 fold; distilled from {teacher.kind}"
    if teacher is None:
        return "1 fold"
    return (f"1 fold; not distilled: {teacher.kind} was scored on held-out rows only, so the nano's training "
            "rows have no teacher probabilities")


def _cannot_beat_teacher(data: FitData) -> bool:
    """A distilled student does not beat its teacher: when a candidate within the latency
    budget already scores as well as the teacher would be, the nano cannot win; skip it."""
    budget, teacher = getattr(data.options, "max_latency_ms", None), teacher_of(data.table)
    fits = [s.accuracy for s in data.table if s.p50_ms is not None and budget and s.p50_ms <= budget]
    if teacher is None or not fits or max(fits) < teacher.accuracy - 0.001:
        return False
    data.notes.append(f"nano not trained: a distilled student does not beat its teacher ({teacher.kind}, "
                      f"{teacher.accuracy:.4f}), and a candidate within the latency budget scores {max(fits):.4f}")
    return True


def teacher_of(table: list[Scored]) -> Scored | None:
    """The most accurate candidate with out-of-fold probabilities: the nano's teacher."""
    with_probs = [s for s in table if s.probs is not None and s.kind != "nano"]
    return max(with_probs, key=lambda s: s.accuracy) if with_probs else None


def teacher_columns(teacher: Scored | None, rows, classes, sub_labels):
    """The teacher's out-of-fold probabilities for `rows`, restricted to the classes present."""
    if teacher is None or np.isnan(teacher.probs[np.asarray(rows)]).all(axis=1).any():
        return None  # with --val the teacher has scores for the validation rows only: plain training
    present = sorted(set(sub_labels))
    probs = np.nan_to_num(teacher.probs[np.asarray(rows)][:, [classes.index(c) for c in present]], nan=0.0)
    return probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-9, None)


_INTENT = "cadre.routing.intent."
register_kind(RouterKind("keyword", "keyword rules (--rules, or word patterns learned from --data)",
                         _INTENT + "keyword", "keyword", fit_keyword, score_keyword))
for _kind, _summary, _encoder in (("tfidf", "TF-IDF alone", NONE),
                                  ("fast", "static MiniLM-distilled vectors ⊕ TF-IDF", STATIC)):
    _fit, _score = _linear(_kind)
    register_kind(RouterKind(_kind, _summary, _INTENT + "ensemble", "ensemble", _fit, _score, (_encoder,)))
register_kind(RouterKind("embedding", "MiniLM + a trained head (or nearest utterance)", _INTENT + "embedding",
                         "embedding", fit_embedding, score_embedding, (MINILM,)))
_fit, _score = _linear("ensemble")
register_kind(RouterKind("ensemble", "MiniLM ⊕ TF-IDF", _INTENT + "ensemble", "ensemble", _fit, _score, (MINILM,)))
register_kind(RouterKind("cascade", "fast, and the ensemble for the texts fast is unsure of", _INTENT + "cascade",
                         "cascade", fit_cascade, score_cascade, (MINILM, STATIC), needs=("fast", "ensemble"),
                         per_request=(STATIC,)))
register_kind(RouterKind("nano", "a small network distilled from the best other candidate", _INTENT + "nano",
                         "nano", fit_nano, score_nano, writes_folder=True))
