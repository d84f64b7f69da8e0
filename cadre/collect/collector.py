"""`cadre router collect` (the learned router's first stage): run registry models over a questions file,
judge every answer, and write a routing table in cadre's routing-table format (cadre/data/routing_tables.py):

    {"prompt": ..., "model_scores": {model: score}, "model_costs": {model: cost}, ...}

plus `model_tokens` (model → tokens of the call), `model_errors` (model → why its score
is null) and every other input column (an id, the reference, a split, ...).

- Models are called through the ModelManager (the only thing that loads models); up to
  `concurrency` calls run at once on threads. Calls go model by model, so a model loads
  once and the memory budget is not churned by swaps.
- The cost of a call is (prompt + completion tokens from the backend's Usage) / 1000 ×
  the model's `cost_per_1k_tokens`. A backend that reports no usage gets an estimate of
  4 characters per token, counted in the summary.
- A call or judge that fails gives that model a null score on that row (the reader masks
  it), and the summary counts it; the run goes on.
- Resumable: every (row, model) result is appended to `<output>.journal` as it finishes;
  a rerun skips what the output or the journal already holds. The output itself is
  written atomically once the run completes, so it is never half-written.
"""
from __future__ import annotations

import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

from cadre.config import ProjectConfig, find_config
from cadre.data.routing_tables import write_routing_table
from cadre.errors import CadreError
from cadre.evaluation.judges import LLMJudge, choice, get_judge, judge_names
from cadre.collect.files import (Journal, Question, done_models, merge_row, read_output,
                                      read_questions)
from cadre.runtime.errors import Overloaded, UnknownModel
from cadre.runtime.registry import ModelCapability, Registry

_NOT_CHAT = {ModelCapability.INTENT_CLASSIFICATION, ModelCapability.EMBEDDING}


class CallRunner(Protocol):
    """Makes (question, model) calls somewhere else and yields their results."""

    def __call__(self, tasks: list, prices: dict[str, float], settings: "CollectSettings") -> Iterator[dict]: ...


@dataclass
class CollectSettings:
    """What to run and how."""

    models: list[str]
    judge: str
    max_tokens: int = 256
    temperature: float = 0.0
    concurrency: int = 4
    limit: int | None = None
    prompt_column: str | None = None
    reference_column: str | None = None
    id_column: str | None = None
    system: str | None = None           # a system prompt sent before each question
    template: str | None = None         # build prompts from columns: "{text}\nTests:\n{test_list}"
    retry_errors: bool = False          # rerun (row, model) pairs whose earlier call failed
    keep_answers: bool = False          # also write each model's answer (model_answers)
    judge_max_tokens: int = 32          # for llm:MODEL verdicts ("Score: N")


@dataclass
class ModelTally:
    """One model's calls in this run."""

    calls: int = 0
    errors: int = 0
    judge_errors: int = 0
    scored: int = 0
    score_sum: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    estimated_usage: int = 0

    def add(self, r: dict) -> None:
        """Count one result."""
        self.calls += 1
        self.errors += bool(r.get("error")) and not r.get("judge_error")
        self.judge_errors += bool(r.get("judge_error"))
        if r.get("score") is not None:
            self.scored += 1
            self.score_sum += r["score"]
        self.prompt_tokens += r.get("prompt_tokens", 0)
        self.completion_tokens += r.get("completion_tokens", 0)
        self.cost += r.get("cost") or 0.0
        self.estimated_usage += bool(r.get("estimated_usage"))

    def to_dict(self) -> dict:
        """The counts plus the mean score of the scored calls."""
        return {**asdict(self), "mean_score": self.score_sum / self.scored if self.scored else None}


@dataclass
class CollectSummary:
    """What a run did: rows written, calls made and resumed, failures, per-model tallies."""

    output: str
    models: list[str]
    judge: str
    questions: int = 0
    rows_written: int = 0
    calls: int = 0
    resumed: int = 0
    rows_with_errors: int = 0
    torn_journal_lines: int = 0
    orphan_results: int = 0
    seconds: float = 0.0
    input: dict = field(default_factory=dict)
    per_model: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {**asdict(self), "per_model": {m: t.to_dict() for m, t in self.per_model.items()}}

    def lines(self) -> list[str]:
        """A short human report."""
        inp = self.input
        skipped = {k: inp[k] for k in ("bad_lines", "empty_prompts", "missing_references", "duplicates") if inp.get(k)}
        out = [f"wrote {self.rows_written} rows to {self.output} ({self.calls} calls, {self.resumed} resumed) "
               f"in {self.seconds:.1f} s",
               f"input: {inp.get('rows_kept', 0)}/{inp.get('rows_read', 0)} rows used"
               + (f" (skipped: {', '.join(f'{k}={v}' for k, v in skipped.items())})" if skipped else "")]
        for m, t in self.per_model.items():
            mean = f"{t.score_sum / t.scored:.3f}" if t.scored else "n/a"
            out.append(f"  {m}: {t.calls} calls, mean score {mean}, tokens {t.prompt_tokens}+{t.completion_tokens},"
                       f" cost {t.cost:.6g}, errors {t.errors}"
                       + (f", judge errors {t.judge_errors}" if t.judge_errors else "")
                       + (f", usage estimated {t.estimated_usage}" if t.estimated_usage else ""))
        if self.rows_with_errors:
            out.append(f"rows with a null score: {self.rows_with_errors} (see model_errors; rerun with --retry-errors)")
        if self.torn_journal_lines or self.orphan_results:
            out.append(f"journal: {self.torn_journal_lines} torn line(s) dropped, "
                       f"{self.orphan_results} result(s) for rows not in this input ignored")
        return out


# ----------------------------------------------------------------------------- checks
def check_models(names: list[str], registry: Registry) -> list[str]:
    """The requested models, deduplicated; unknown or non-chat names are one-line errors."""
    names = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    listing = ", ".join(registry.names()) or "(none)"
    if not names:
        raise CadreError(f"no models given; registry models: {listing}")
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise UnknownModel(f"unknown model{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                           f"registry models: {listing}")
    for n in names:
        caps = set(registry.get(n).capabilities)
        if caps and caps <= _NOT_CHAT:
            raise CadreError(f"model {n!r} is a {'/'.join(c.value for c in caps)} model and cannot answer "
                             f"questions; registry models: {listing}")
    return names


def check_judge(spec: str, registry: Registry) -> None:
    """Reject an unknown judge (listing the valid ones) or an llm judge's unknown model."""
    spec = (spec or "").strip()
    if spec.startswith("llm:"):
        name = spec[4:].strip()
        if not name:
            raise CadreError(f"judge 'llm:' needs a model name (llm:MODEL); valid judges: {', '.join(judge_names())}")
        if name not in registry:
            raise UnknownModel(f"judge llm:{name}: unknown model {name!r}; registry models: "
                               f"{', '.join(registry.names())}")
        return
    get_judge(spec)  # raises CadreError listing the valid judges


def _check_settings(s: CollectSettings, data: Path, output: Path) -> None:
    if s.concurrency < 1 or s.max_tokens < 1 or (s.limit is not None and s.limit < 1):
        raise CadreError("--concurrency, --max-tokens and --limit must be at least 1")
    if data.resolve() == output.resolve():
        raise CadreError(f"{output}: the output would overwrite the questions file")


# ----------------------------------------------------------------------------- calls
def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0][:300] if text else ""
    return msg if isinstance(exc, CadreError) and msg else f"{type(exc).__name__}: {msg}".rstrip(": ")


def chat_once(manager, model: str, messages: list[dict], max_tokens: int, temperature: float,
              attempts: int = 5):
    """One answer through the manager: (text, Usage). A full queue waits and retries."""
    for attempt in range(attempts):
        try:
            with manager.use(model, return_to_primary=False) as backend:
                text, usage, _ = backend.chat(messages, max_tokens=max_tokens, temperature=temperature)
                return text, usage
        except Overloaded as exc:
            if attempt + 1 == attempts:
                raise
            time.sleep(min(exc.retry_after, 5.0))


def _tokens(usage, messages: list[dict], text: str) -> tuple[int, int, bool]:
    """(prompt, completion, estimated): the backend's counts, else ~4 characters a token."""
    if usage is not None and usage.prompt_tokens + usage.completion_tokens > 0:
        return usage.prompt_tokens, usage.completion_tokens, False
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    return max(1, round(chars / 4)), round(len(text) / 4), True


def _score(judge, text: str, q: Question) -> float:
    if judge is choice and q.options:
        value = judge(text, q.reference, options=q.options)
    elif isinstance(judge, LLMJudge):
        value = judge(text, q.reference, question=q.text)
    else:
        value = judge(text, q.reference)
    return min(1.0, max(0.0, float(value)))


def answer_one(manager, judge, q: Question, model: str, price: float, s: CollectSettings) -> dict:
    """Ask one model one question and judge it; a failure is recorded, never raised."""
    r = {"row_id": q.row_id, "model": model, "score": None, "cost": None,
         "prompt_tokens": 0, "completion_tokens": 0}
    try:
        text, usage = chat_once(manager, model, q.messages, s.max_tokens, s.temperature)
    except Exception as exc:  # one failing call costs this row the model's score, not the run
        r["error"] = _one_line(exc)
        return r
    pt, ct, estimated = _tokens(usage, q.messages, text)
    r.update(prompt_tokens=pt, completion_tokens=ct, cost=(pt + ct) / 1000 * price, answer=text)
    if estimated:
        r["estimated_usage"] = True
    try:
        r["score"] = _score(judge, text, q)
    except Exception as exc:  # a judge that breaks (an llm judge's endpoint) also stays per row
        r.update(error=f"judge: {_one_line(exc)}", judge_error=True)
    return r


def make_judge(spec: str, manager, max_tokens: int = 32):
    """The judge callable; `llm:MODEL` asks MODEL through the manager."""
    spec = spec.strip()
    if not spec.startswith("llm:"):
        return get_judge(spec)
    name = spec[4:].strip()

    def generate(prompt: str) -> str:
        return chat_once(manager, name, [{"role": "user", "content": prompt}], max_tokens, 0.0)[0]

    return get_judge(spec, generate)


# ----------------------------------------------------------------------------- the run
def collect(data: str | Path, output: str | Path, settings: CollectSettings,
            config: "ProjectConfig | str | Path | None" = None, manager=None, progress: bool = False,
            on_result: Callable[[dict], None] | None = None, calls: "CallRunner | None" = None) -> CollectSummary:
    """Run `settings.models` over the questions in `data`, judge, and write `output`.

    `config` is a ProjectConfig or a project-file path (None: the project in effect);
    `manager` reuses a ModelManager (else one is made and closed here); `on_result` sees
    every journaled result (for callers that report progress their own way); `calls`
    makes the (question, model) calls elsewhere (`cadre router collect --ray`): it gets the
    calls still to make and yields their results, in any order.
    """
    started, data, output = time.perf_counter(), Path(data), Path(output)
    if manager is None:
        config = config if isinstance(config, ProjectConfig) else find_config(config)
    registry = manager.registry if manager is not None else Registry.from_config(config)
    models = check_models(settings.models, registry)
    check_judge(settings.judge, registry)
    _check_settings(settings, data, output)
    questions, report = read_questions(data, settings.prompt_column, settings.reference_column,
                                       settings.id_column, settings.limit, settings.system, settings.template)
    journal = Journal(output.with_name(output.name + ".journal"), {"judge": settings.judge.strip()})
    summary = CollectSummary(str(output), models, settings.judge, questions=len(questions), input=report.to_dict(),
                             per_model={m: ModelTally() for m in models})
    existing = read_output(output, settings.id_column)
    by_row, tasks = _plan(questions, models, existing, journal.load(), settings.retry_errors, summary)
    summary.torn_journal_lines = journal.torn_lines
    prices = {m: registry.get(m).cost_per_1k_tokens for m in models}
    own = manager is None and calls is None
    if own:
        from cadre.runtime.manager import ModelManager

        manager = ModelManager.from_config(config, registry)
    try:
        results = (calls(tasks, prices, settings) if calls is not None else
                   local_calls(tasks, manager, make_judge(settings.judge, manager, settings.judge_max_tokens),
                               prices, settings))
        _record_all(results, len(tasks), journal, by_row, summary, progress, on_result)
        rows, mine = _assemble(questions, existing, by_row, settings.keep_answers, models)
        summary.rows_written = write_routing_table(rows, output)
        journal.remove()
    finally:
        journal.close()
        if own:
            manager.close()
    summary.rows_with_errors = sum(1 for row in rows[:mine] if any(row["model_scores"].get(m) is None for m in models))
    summary.seconds = time.perf_counter() - started
    return summary


def _plan(questions: list[Question], models: list[str], existing: dict, journaled: list[dict],
          retry_errors: bool, summary: CollectSummary) -> tuple[dict, list]:
    """Results carried over from the journal, and the (question, model) calls still to make."""
    ids = {q.row_id for q in questions}
    by_row: dict[str, dict[str, dict]] = {}
    for r in journaled:
        if r["row_id"] in ids and r["model"] in models:
            by_row.setdefault(r["row_id"], {})[r["model"]] = r
        else:
            summary.orphan_results += 1
    tasks = []
    for m in models:  # model by model: each model loads once
        for q in questions:
            done = done_models(existing.get(q.row_id, {}), [m], retry_errors)
            earlier = by_row.get(q.row_id, {}).get(m)
            if done or (earlier and not (retry_errors and earlier.get("score") is None)):
                summary.resumed += 1
            else:
                tasks.append((q, m))
    return by_row, tasks


def local_calls(tasks, manager, judge, prices, s: CollectSettings, answer=answer_one) -> Iterator[dict]:
    """Up to `s.concurrency` calls at once on threads; yields each result as it finishes.
    `answer` makes one call (answer_one, or a version that waits for a shared bound)."""
    pool = ThreadPoolExecutor(max_workers=s.concurrency, thread_name_prefix="cadre-collect")
    queue, pending = iter(tasks), set()
    try:
        while True:
            while len(pending) < 2 * s.concurrency and (task := next(queue, None)) is not None:
                q, m = task
                pending.add(pool.submit(answer, manager, judge, q, m, prices[m], s))
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def _record_all(results: Iterator[dict], total: int, journal: Journal, by_row: dict, summary: CollectSummary,
                progress: bool, on_result) -> None:
    """Journal and count each result as it arrives (the main thread does all the writing)."""
    from tqdm import tqdm

    bar = tqdm(total=total, disable=not progress, unit="call", desc="collect", file=sys.stderr)
    try:
        for r in results:
            journal.append(r)
            by_row.setdefault(r["row_id"], {})[r["model"]] = r
            summary.per_model[r["model"]].add(r)
            summary.calls += 1
            bar.update(1)
            bar.set_postfix(errors=sum(t.errors + t.judge_errors for t in summary.per_model.values()))
            if on_result is not None:
                on_result(r)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()  # stop the calls still running (an interrupted run)
        bar.close()


def _assemble(questions: list[Question], existing: dict, by_row: dict, keep_answers: bool,
              models: list[str]) -> tuple[list[dict], int]:
    """Output rows in input order, then earlier output rows that this input does not hold;
    also returns how many rows come from this input."""
    rows, ids = [], set()
    for q in questions:
        ids.add(q.row_id)
        results = by_row.get(q.row_id, {})
        if results or q.row_id in existing:
            rows.append(merge_row(existing.get(q.row_id) or q.record, results, keep_answers, models))
    mine = len(rows)
    rows += [rec for rid, rec in existing.items() if rid not in ids]
    return rows, mine
