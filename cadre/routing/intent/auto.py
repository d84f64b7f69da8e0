"""`--kind auto`: fit every candidate kind on the user's training data, score each by
cross-validation on that data alone (or on `--val`), and keep the most accurate one whose
single-request p50 latency fits the budget.

Candidates: keyword (when a rules file is given), tfidf (TF-IDF + LinearSVC), fast
(static MiniLM-distilled token vectors ⊕ TF-IDF), embedding (MiniLM + logistic
regression), ensemble (MiniLM ⊕ TF-IDF), cascade (fast, and the ensemble for the texts
fast is unsure of; scored from those two rows, so it needs both) and nano (distilled from
the best of the others; scored on one fold, since each fit trains a network). Latency is timed on the first
fold's model, one request at a time on one thread. nano's trainer lives in
`cadre.training`, which routing never imports, so the caller passes it in (`nano`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing.intent.auto_cv import (EMBED_SCALE, EMBEDDING_HEAD, LINEAR_KINDS, Folds, Scored, cross_validate,
                                   keyword_scores, plan_folds, time_router, val_folds)
from cadre.labels import OUT_OF_SCOPE
from cadre.routing.base import Router
from cadre.routing.intent.encoders import MINILM, STATIC, make_encoder, no_vectors

CANDIDATES = ("keyword", "tfidf", "fast", "embedding", "ensemble", "cascade", "nano")
MAX_LATENCY_MS = 2.0
# nano(texts, labels, teacher_probs (N, C over sorted(set(labels))), folder) -> a loaded Router
NanoTrainer = Callable[[list, list, np.ndarray, Path], Router]


@dataclass
class AutoOptions:
    candidates: Sequence[str] = CANDIDATES
    folds: int = 5
    max_latency_ms: float = MAX_LATENCY_MS
    latency_samples: int = 50
    rules: str | Path | None = None
    target_precision: float | None = None
    per_route: bool = True
    seed: int = 0


@dataclass
class AutoResult:
    router: Router
    chosen: Scored
    table: list[Scored]
    folds: Folds
    notes: list[str] = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)  # the rule applied and what it measured

    def summary(self, max_latency_ms: float) -> dict:
        """The JSON-ready record saved in cadre.json under `auto`."""
        rows = [{"kind": s.kind, "cv_accuracy": _r(s.accuracy), "cv_spread": _r(s.spread),
                 "folds": len(s.fold_accuracy), "p50_ms": _r(s.p50_ms, 3), "p99_ms": _r(s.p99_ms, 3),
                 "within_budget": s.p50_ms is not None and s.p50_ms <= max_latency_ms, "note": s.note}
                for s in self.table]
        return {"chosen": self.chosen.kind, "max_latency_ms": max_latency_ms, "folds": self.folds.k,
                "table": rows, "notes": self.notes, "thresholds": self.thresholds}


def check_candidates(names: Sequence[str]) -> list[str]:
    """Known candidate kinds, in the canonical order; an unknown one is an error."""
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown or not names:
        raise CadreError(f"unknown candidate kind(s) {unknown or names}; use some of {', '.join(CANDIDATES)}")
    if "cascade" in names and not {"fast", "ensemble"} <= set(names):
        raise CadreError("the cascade candidate is scored from the fast and ensemble rows; list both with it")
    return [c for c in CANDIDATES if c in names]


def run_auto(texts: list[str], labels: list[str], options: AutoOptions, output: Path,
             val: tuple[list[str], list[str]] | None = None, nano: NanoTrainer | None = None,
             vectors: dict | None = None, log: Callable[[str], None] = print) -> AutoResult:
    """Choose, fit on all of the data and save the router in `output`; returns the choice
    and the table. `vectors` may hold precomputed MiniLM vectors ({MINILM: (N, 384)})."""
    from cadre.routing.intent.fit import check_classes
    from cadre.routing.store import canonical_labels

    labels = canonical_labels(labels)
    check_classes(labels)
    candidates = check_candidates(options.candidates)
    folds = plan_folds(labels, options.folds, options.seed)
    n = len(texts)
    if val:  # score on --val: the rows after the training ones form the one held-out fold
        warnings = folds.warnings
        folds = val_folds(n, len(val[0]))
        folds.warnings = warnings
        texts, labels = list(texts) + list(val[0]), labels + canonical_labels(val[1])
        given = dict(vectors or {})
        if MINILM in given and len(given[MINILM]) == n:  # vectors for the training rows only: add val's
            given[MINILM] = np.concatenate([given[MINILM], make_encoder(MINILM)(list(val[0]))])
        vectors = given
    for line in folds.warnings:
        log(f"warning: {line}")
    for line in folds.notes:
        log(f"note: {line}")
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    feats = _features(texts, candidates, vectors or {})
    table = _score_all(texts, labels, y, classes, feats, folds, candidates, options, nano, output)
    chosen, notes = choose(table, options.max_latency_ms)
    for line in notes:
        log(f"note: {line}")
    router = _final_fit(chosen, texts[:n], labels[:n], y[:n], classes, {k: (x[:n], e) for k, (x, e) in feats.items()},
                        options, nano, output, table)
    thresholds = _thresholds(router, chosen, classes, labels, val, options)
    if chosen.kind != "nano":  # the nano trainer wrote its folder already
        router.save(output)
    result = AutoResult(router, chosen, table, folds, folds.notes + notes, thresholds)
    _save_meta(output, router, result, options)
    return result


def _features(texts, candidates, given: dict) -> dict:
    """Sentence vectors per encoder, computed once for every fold; and the encoders."""
    feats = {"none": (no_vectors(texts), no_vectors)}
    if "fast" in candidates:
        enc = make_encoder(STATIC)
        feats[STATIC] = (enc(texts), enc)
    if {"embedding", "ensemble"} & set(candidates) or ("nano" in candidates and len(candidates) == 1):
        enc = make_encoder(MINILM)
        feats[MINILM] = (given[MINILM] if MINILM in given else enc(texts), enc)
    return feats


def _score_all(texts, labels, y, classes, feats, folds, candidates, options, nano, output) -> list[Scored]:
    from cadre.routing.intent.embedding import EmbeddingRouter
    from cadre.routing.intent.ensemble import EnsembleRouter

    def timer(kind, parts, held):
        if kind == "embedding":
            router = EmbeddingRouter(classes, "head", parts, encoder=feats[MINILM][1])
        else:
            name = LINEAR_KINDS[kind]
            tfidf, W, b, scale = parts
            router = EnsembleRouter(classes, tfidf, {"W": W, "b": b}, 5.0, scale, encoder=feats[name][1],
                                    encoder_name=name)
        return _timed(router, [texts[i] for i in held], options.latency_samples)

    table = []
    for kind in candidates:
        if kind == "keyword":
            if options.rules:
                table.append(_keyword(texts, labels, folds, options))
            continue
        if kind in ("nano", "cascade"):
            continue
        name = MINILM if kind == "embedding" else LINEAR_KINDS[kind]
        table.append(cross_validate(kind, texts, feats[name][0], y, len(classes), folds, timer))
    if "cascade" in candidates:
        from cadre.routing.intent.cascade import cascade_scored

        rows = {s.kind: s for s in table}
        table.append(cascade_scored(rows["fast"], rows["ensemble"], y, folds))
    if "nano" in candidates and nano is not None:
        table.append(_nano_fold(texts, labels, y, classes, folds, table, options, nano, output))
    return table


def _keyword(texts, labels, folds, options) -> Scored:
    from cadre.routing.intent.keyword import KeywordRouter

    router = KeywordRouter.from_yaml(options.rules)
    scored = keyword_scores(router, texts, labels, folds)
    scored.p50_ms, scored.p99_ms = _timed(router, texts, options.latency_samples)
    scored.note = f"rules {Path(options.rules).name}"
    return scored


def teacher_of(table: list[Scored]) -> Scored | None:
    """The most accurate candidate with out-of-fold probabilities: the nano's teacher."""
    with_probs = [s for s in table if s.probs is not None]
    return max(with_probs, key=lambda s: s.accuracy) if with_probs else None


def _nano_fold(texts, labels, y, classes, folds, table, options, nano, output) -> Scored:
    """Train a nano on every fold but the first, distilled from the best candidate; score on the first."""
    import tempfile

    teacher = teacher_of(table)
    train, held = np.where(folds.index != 0)[0], np.where(folds.index == 0)[0]
    with tempfile.TemporaryDirectory(dir=Path(output).parent if Path(output).parent.is_dir() else None) as tmp:
        sub = [labels[i] for i in train]
        router = nano([texts[i] for i in train], sub, _teacher_columns(teacher, train, classes, sub),
                      Path(tmp) / "nano")
        probs = np.asarray(router.score_batch([texts[i] for i in held]))
        pred = [router.labels[j] for j in probs.argmax(axis=1)]
        accuracy = float(np.mean([p == labels[i] for p, i in zip(pred, held)]))
        out = np.full((len(y), len(classes)), np.nan, dtype=np.float32)
        cols = [classes.index(label) for label in router.labels]
        out[np.ix_(held, cols)] = probs
        out[held] = np.nan_to_num(out[held], nan=0.0)
        p50, p99 = _timed(router, [texts[i] for i in held], options.latency_samples)
    note = "1 fold" + (f"; distilled from {teacher.kind}" if teacher else "")
    return Scored("nano", [accuracy], out, 1.0, p50, p99, note)


def _teacher_columns(teacher: Scored | None, rows, classes, sub_labels):
    """The teacher's out-of-fold probabilities for `rows`, restricted to the classes present."""
    if teacher is None or np.isnan(teacher.probs[np.asarray(rows)]).all(axis=1).any():
        return None  # with --val the teacher has scores for the validation rows only: plain training
    present = sorted(set(sub_labels))
    probs = np.nan_to_num(teacher.probs[np.asarray(rows)][:, [classes.index(c) for c in present]], nan=0.0)
    return probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-9, None)


def _timed(router, texts, samples) -> tuple[float, float]:
    """Latency on one torch thread (the serving setting), whatever the training threads."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return time_router(router, texts, samples)
    finally:
        torch.set_num_threads(previous)


def choose(table: list[Scored], max_latency_ms: float) -> tuple[Scored, list[str]]:
    """The most accurate candidate within the latency budget (ties: the faster); when none
    fits, the fastest, with a note."""
    if not table:
        raise CadreError("no candidate router could be scored; check --candidates")
    timed = [s for s in table if s.p50_ms is not None]
    fits = [s for s in timed if s.p50_ms <= max_latency_ms]
    if fits:
        return max(fits, key=lambda s: (round(s.accuracy, 6), -s.p50_ms)), []
    fastest = min(timed, key=lambda s: s.p50_ms)
    return fastest, [f"no candidate reaches p50 ≤ {max_latency_ms} ms; took the fastest ({fastest.kind}, "
                     f"{fastest.p50_ms:.2f} ms)"]


def _final_fit(chosen, texts, labels, y, classes, feats, options, nano, output, table) -> Router:
    """The chosen kind fitted on all of the training data."""
    from cadre.routing.intent.embedding import EmbeddingRouter
    from cadre.routing.intent.ensemble import EnsembleRouter

    if chosen.kind == "keyword":
        from cadre.routing.intent.keyword import KeywordRouter

        return KeywordRouter.from_yaml(options.rules)
    if chosen.kind == "nano":
        return nano(texts, labels, _teacher_columns(teacher_of(table), np.arange(len(y)), classes, labels),
                    Path(output))
    if chosen.kind == "embedding":
        x, enc = feats[MINILM]
        return EmbeddingRouter.fit(texts, labels, vectors=x, encoder=enc, **EMBEDDING_HEAD)
    if chosen.kind == "cascade":
        from cadre.routing.intent.cascade import CascadeRouter

        return CascadeRouter.fit(texts, labels, vectors=feats[MINILM][0], embed_scale=EMBED_SCALE)
    name = LINEAR_KINDS[chosen.kind]
    x, enc = feats[name]
    router = EnsembleRouter.fit(texts, labels, vectors=x, encoder=enc, embed_scale=EMBED_SCALE if x.shape[1] else 0.0,
                                encoder_name=name)
    if not router.has_detector:
        router.temperature = chosen.temperature  # the scale the out-of-fold scores (and thresholds) were on
    return router


def _thresholds(router, chosen, classes, labels, val, options) -> dict:
    """The threshold rule: a target precision on --val or out-of-fold scores; with
    out-of-scope examples and no target, none (the model's out_of_scope class decides);
    with neither, the guard that costs at most 0.25 points of in-scope accuracy."""
    from cadre.routing.intent.calibration import fit_thresholds
    from cadre.routing.intent.guard import MAX_DROP, guard_threshold

    if chosen.kind == "keyword":
        return {"rule": "none (keyword rules)"}
    probs, gold, names, where = _calibration_scores(router, chosen, classes, labels, val)
    if options.target_precision:
        fitted = fit_thresholds(probs, gold, names, options.target_precision, per_route=options.per_route)
        router.set_thresholds({k: v for k, v in fitted.items() if k in router.labels})
        return {"rule": f"target precision {options.target_precision} on {where}"}
    if OUT_OF_SCOPE in labels or OUT_OF_SCOPE in gold:
        return {"rule": "none: the out_of_scope class (and detector) decide"}
    found = guard_threshold(probs, np.array([names.index(g) if g in names else -1 for g in gold]))
    router.set_thresholds({name: found["threshold"] for name in router.labels if name != OUT_OF_SCOPE})
    return {"rule": f"guard: reject at most {MAX_DROP:.2%} of in-scope texts, on {where}", **_round(found)}


def _calibration_scores(router, chosen, classes, labels, val):
    """(probs, gold labels, column names, where): the final router on --val, else the
    chosen kind's out-of-fold scores."""
    if val:
        return np.asarray(router.score_batch(val[0])), _canon(val[1]), list(router.labels), "--val"
    keep = ~np.isnan(chosen.probs).any(axis=1)  # nano: only its one held-out fold was scored
    return chosen.probs[keep], [g for g, k in zip(labels, keep) if k], list(classes), "out-of-fold scores"


def _canon(labels) -> list[str]:
    from cadre.routing.store import canonical_labels

    return canonical_labels(labels)


def _save_meta(output, router, result: AutoResult, options) -> None:
    from cadre.routing.store import update_meta

    update_meta(output, thresholds=router.thresholds, auto=result.summary(options.max_latency_ms))


def _round(d: dict) -> dict:
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in d.items()}


def _r(value, digits: int = 4):
    return None if value is None or value != value else round(float(value), digits)


def render_table(summary: dict) -> str:
    """The candidates table as text, the chosen row marked."""
    lines = [f"{'kind':10} {'cv accuracy':>16} {'folds':>5} {'p50 ms':>8} {'p99 ms':>8}  note"]
    for row in summary["table"]:
        acc = "–" if row["cv_accuracy"] is None else f"{row['cv_accuracy']:.4f} ± {row['cv_spread']:.4f}"
        p50 = "–" if row["p50_ms"] is None else f"{row['p50_ms']:.3f}"
        p99 = "–" if row["p99_ms"] is None else f"{row['p99_ms']:.3f}"
        mark = " ← chosen" if row["kind"] == summary["chosen"] else ("" if row["within_budget"] else " (over budget)")
        lines.append(f"{row['kind']:10} {acc:>16} {row['folds']:>5} {p50:>8} {p99:>8}  {row['note']}{mark}")
    lines.append(f"budget: p50 ≤ {summary['max_latency_ms']} ms of one thread's CPU; {summary['folds']}-fold cross-validation; "
                 f"thresholds: {summary['thresholds'].get('rule', 'none')}")
    return "\n".join(lines)
