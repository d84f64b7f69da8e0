"""`--kind auto`: fit every candidate kind on the user's training data, score each by
cross-validation on that data alone (or on `--val`), and keep the most accurate one whose
single-request p50 latency fits the budget.

The candidates are the kinds in `cadre.routing.intent.kinds` that can be scored (keyword
only with a rules file; cascade from the fast and ensemble rows; nano on one fold,
distilled from the best of the others). Sentence vectors are computed once per text and
shared by every candidate and fold. To stay fast on large data: from `LARGE` training
rows on only the first of the 5 folds is scored (a 20% hold-out), tfidf is left to fast
(its features and more), and a kind whose encoder alone is over the latency budget on one
text is not cross-validated unless another candidate is scored from it (it cannot win).
On small data the linear kinds cross-validate the weight of their sentence vectors beside
TF-IDF. Latency is timed on the first fold's model, one request at a time on one thread.
Each stage's CPU seconds are logged. nano's trainer lives in `cadre.training`, which
routing never imports, so the caller passes it in (`nano`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.labels import OUT_OF_SCOPE
from cadre.routing.base import Router
from cadre.routing.intent.auto_cv import LARGE, Folds, Scored, plan_folds, val_folds
from cadre.routing.intent.encoders import MINILM, make_encoder
from cadre.routing.intent.kinds import FitData, FitOptions, candidate_names, compute_features, encoders_for, get_kind

MAX_LATENCY_MS = 2.0
FOLDS = 5  # from LARGE training rows on, one fold of 5 is scored: a 20% hold-out of ≥ 800 texts
# nano(texts, labels, teacher_probs (N, C over sorted(set(labels))), folder) -> a loaded Router
NanoTrainer = Callable[[list, list, np.ndarray, Path], Router]


def default_candidates() -> list[str]:
    """Every kind auto can score, in table order (the registry's)."""
    return candidate_names()


@dataclass
class AutoOptions(FitOptions):
    candidates: Sequence[str] | None = None  # None: every registered candidate
    folds: int | None = None  # None: FOLDS, only the first scored from LARGE training rows on
    max_latency_ms: float = MAX_LATENCY_MS
    target_precision: float | None = None
    per_route: bool = True


@dataclass
class AutoResult:
    router: Router
    chosen: Scored
    table: list[Scored]
    folds: Folds
    notes: list[str] = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)  # the rule applied and what it measured
    scored_on: str = "cross-validation"  # or "--val"
    stages: dict = field(default_factory=dict)  # stage -> CPU seconds

    def summary(self, max_latency_ms: float) -> dict:
        """The JSON-ready record saved in cadre.json under `auto`. With --val each row has
        `val_accuracy` (one score on the validation rows); else `cv_accuracy`, `cv_spread`
        over its folds and the number of folds."""
        on_val = self.scored_on == "--val"
        rows = [{"kind": s.kind, **({"val_accuracy": _r(s.accuracy)} if on_val else
                                    {"cv_accuracy": _r(s.accuracy), "cv_spread": _r(s.spread),
                                     "folds": len(s.fold_accuracy)}),
                 "p50_ms": _r(s.p50_ms, 3), "p99_ms": _r(s.p99_ms, 3),
                 "within_budget": s.p50_ms is not None and s.p50_ms <= max_latency_ms, "note": s.note}
                for s in self.table]
        return {"chosen": self.chosen.kind, "max_latency_ms": max_latency_ms, "scored_on": self.scored_on,
                **({"val_examples": int((self.folds.index == 0).sum())} if on_val else
                   {"folds": self.folds.k, "folds_scored": self.folds.rounds}),
                "table": rows, "notes": self.notes, "thresholds": self.thresholds,
                "cpu_s": {k: round(v, 2) for k, v in self.stages.items()}}


def check_candidates(names: Sequence[str] | None) -> list[str]:
    """Known candidate kinds, in the canonical order; an unknown one is an error."""
    known = default_candidates()
    if names is None:
        return known
    unknown = sorted(set(names) - set(known))
    if unknown or not names:
        raise CadreError(f"unknown candidate kind(s) {unknown or list(names)}; use some of {', '.join(known)}")
    for name in names:
        missing = [k for k in get_kind(name).needs if k not in names]
        if missing:
            raise CadreError(f"the {name} candidate is scored from the {' and '.join(get_kind(name).needs)} rows; "
                             "list them with it")
    return [c for c in known if c in names]


def fold_plan(options: AutoOptions, n_train: int) -> tuple[int, int | None]:
    """(folds, folds scored): --folds when given, every one scored; else 5, and from LARGE
    training rows on only the first is scored (a hold-out of 20%: on that much data one
    fold ranks the candidates as well as five, at a fifth of the fits)."""
    if options.folds is not None:
        return options.folds, None
    return FOLDS, (1 if n_train >= LARGE else None)


def run_auto(texts: list[str], labels: list[str], options: AutoOptions, output: Path,
             val: tuple[list[str], list[str]] | None = None, nano: NanoTrainer | None = None,
             vectors: dict | None = None, log: Callable[[str], None] = print) -> AutoResult:
    """Choose, fit on all of the data and save the router in `output`; returns the choice
    and the table. `vectors` may hold precomputed MiniLM vectors ({MINILM: (N, 384)})."""
    from cadre.routing.intent.fit import check_classes
    from cadre.routing.store import canonical_labels

    clock = _Stages(log)
    labels = canonical_labels(labels)
    check_classes(labels)
    candidates = check_candidates(options.candidates)
    n = len(texts)
    k, rounds = fold_plan(options, n)
    folds = plan_folds(labels, k, options.seed)
    if rounds is not None:
        folds.rounds = min(rounds, folds.k)
        folds.notes.append(f"candidates scored on 1 of {folds.k} folds ({int((folds.index == 0).sum())} texts held "
                           f"out): {n} training texts (from {LARGE} on, one fold; --folds N scores all N)")
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
    candidates, dominated = drop_dominated(candidates, n)
    candidates, dropped = drop_hopeless(candidates, options.max_latency_ms, texts)
    dropped = dominated + dropped
    clock.lap("latency floors")
    classes = sorted(set(labels))
    data = FitData(list(texts), labels, classes, np.array([classes.index(label) for label in labels]), n,
                   compute_features(texts, encoders_for(candidates), vectors, log), options, folds,
                   trainers={"nano": nano} if nano else {}, output=Path(output), log=log)
    clock.lap("features")
    _score_all(data, candidates, options, clock)
    chosen, notes = choose(data.table, options.max_latency_ms)
    notes = dropped + data.notes + notes
    for line in notes:
        log(f"note: {line}")
    kind = get_kind(chosen.kind)
    router = kind.fit(data.training())
    clock.lap(f"final fit ({chosen.kind})")
    thresholds = _thresholds(router, chosen, classes, labels, val, options)
    if not kind.writes_folder:  # trainers outside routing (nano) wrote theirs already
        router.save(output)
    result = AutoResult(router, chosen, data.table, folds, folds.notes + notes, thresholds,
                        "--val" if val else "cross-validation", clock.spent)
    _save_meta(output, router, result, options)
    return result


# kind -> a kind that fits the same classifier over its features and more, as cheaply per request:
# on large data the superset is at least as accurate, so the subset is not cross-validated
DOMINATED_BY = {"tfidf": "fast"}


def drop_dominated(candidates: list[str], n_train: int) -> tuple[list[str], list[str]]:
    """Candidates minus those another candidate dominates, from LARGE training rows on."""
    if n_train < LARGE:
        return candidates, []
    gone = [c for c in candidates if DOMINATED_BY.get(c) in candidates
            and not any(c in get_kind(k).needs for k in candidates)]
    notes = [f"{c} not cross-validated: {DOMINATED_BY[c]} fits the same classifier over its features and more, "
             f"and on {n_train} training texts (from {LARGE} on) does at least as well; --candidates {c} scores it"
             for c in gone]
    return [c for c in candidates if c not in gone], notes


def drop_hopeless(candidates: list[str], budget_ms: float, texts: list[str]) -> tuple[list[str], list[str]]:
    """Candidates minus those that cannot win: a kind whose per-request encoder alone takes
    longer than the budget on one text, unless a kept candidate is scored from it."""
    floors: dict[str, float] = {}
    slow = {name: [e for e in get_kind(name).request_encoders if _encoder_p50(e, texts, floors) > budget_ms]
            for name in candidates}
    kept = list(candidates)
    while True:  # needed only by a kept candidate: blend dropped, finetune is not fine-tuned for nothing
        needed = {k for c in kept for k in get_kind(c).needs}
        still = [c for c in kept if not slow[c] or c in needed]
        if still == kept:
            break
        kept = still
    notes = [f"{name} not cross-validated: {slow[name][0]} alone takes {floors[slow[name][0]]:.2f} ms a text "
             f"(p50, one thread), over the {budget_ms} ms budget" for name in candidates if name not in kept]
    return kept, notes


def _encoder_p50(name: str, texts: list[str], cache: dict) -> float:
    """Single-text p50 (ms of one thread's CPU) of an encoder over a few texts."""
    if name not in cache:
        from cadre.routing.intent.encoders import NONE, STATIC

        if name in (NONE, STATIC):
            cache[name] = 0.0  # table look-ups: far under any budget
        else:
            import torch

            enc, previous = make_encoder(name), torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                sample = [t for t in texts[:: max(1, len(texts) // 23)]][:23]
                for text in sample[:3]:  # warm-up
                    enc([text])
                times = []
                for text in sample:
                    start = time.thread_time()
                    enc([text])
                    times.append(time.thread_time() - start)
            finally:
                torch.set_num_threads(previous)
            cache[name] = float(np.median(times) * 1000)
    return cache[name]


def _score_all(data: FitData, candidates: list[str], options: AutoOptions, clock: "_Stages") -> None:
    """Score each candidate into data.table, timing each, with a progress bar."""
    bar = _bar(len(candidates), options.progress)
    for name in candidates:
        if bar is not None:
            bar.set_postfix_str(name)
        row = get_kind(name).score(data)
        if row is not None:
            data.table.append(row)
        clock.lap(f"score {name}")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if not data.table:
        raise CadreError("no candidate router could be scored; check --candidates")


def _bar(total: int, show: bool):
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="auto: scoring candidates", unit="kind", leave=False)


class _Stages:
    """CPU seconds (user+sys of this process) per stage, logged as each ends."""

    def __init__(self, log):
        self.log, self.spent = log, {}
        self.last = time.process_time()

    def lap(self, stage: str) -> None:
        now = time.process_time()
        self.spent[stage] = now - self.last
        self.last = now
        self.log(f"  {stage}: {self.spent[stage]:.1f} CPU-s")


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


def row_accuracy(row: dict) -> float | None:
    """A table row's score, cross-validated or on --val."""
    return row.get("cv_accuracy", row.get("val_accuracy"))


def render_table(summary: dict) -> str:
    """The candidates table as text, the chosen row marked; it says what the scores are."""
    on_val = summary.get("scored_on") == "--val"
    head = f"{'val accuracy':>16} " if on_val else f"{'cv accuracy':>16} {'folds':>5}"
    lines = [f"{'kind':10} {head} {'p50 ms':>8} {'p99 ms':>8}  note"]
    for row in summary["table"]:
        acc = row_accuracy(row)
        one = on_val or row.get("folds") == 1
        cell = ("–" if acc is None else f"{acc:.4f}") if one else \
            ("–" if acc is None else f"{acc:.4f} ± {row['cv_spread']:.4f}")
        cell = f"{cell:>16} " if on_val else f"{cell:>16} {row['folds']:>5}"
        p50 = "–" if row["p50_ms"] is None else f"{row['p50_ms']:.3f}"
        p99 = "–" if row["p99_ms"] is None else f"{row['p99_ms']:.3f}"
        mark = " ← chosen" if row["kind"] == summary["chosen"] else ("" if row["within_budget"] else " (over budget)")
        lines.append(f"{row['kind']:10} {cell} {p50:>8} {p99:>8}  {row['note']}{mark}")
    scored = (f"candidates scored on --val ({summary['val_examples']} examples)" if on_val
              else f"1 of {summary['folds']} folds held out" if summary.get("folds_scored") == 1
              else f"{summary['folds']}-fold cross-validation")
    cpu = summary.get("cpu_s")
    spent = f"; {sum(cpu.values()):.0f} CPU-s to train" if cpu else ""
    lines.append(f"budget: p50 ≤ {summary['max_latency_ms']} ms of one thread's CPU; {scored}; "
                 f"thresholds: {summary['thresholds'].get('rule', 'none')}{spent}")
    return "\n".join(lines)
