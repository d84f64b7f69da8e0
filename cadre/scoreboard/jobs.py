"""One function per route: the specialist and the primary on the same held-out examples.

Each returns a `Score` per side: the mean metric, the latency of every answer, and the
model's measured memory. The primary always gets the instruction the engine would give it
when it serves that route, so the comparison is the one serving makes.
"""
from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field

INTENT_PROMPT = ("Which one of these intents fits the request: {labels}? "
                 "Answer with the intent name only.\nRequest: {text}")


@dataclass
class Score:
    """One side of a row: which model, its metric and latencies."""

    model: str | None
    score: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    memory_bytes: int | None = None
    error: str | None = None       # why this model could not be scored (it failed to load)
    per_example: list[float] = field(default_factory=list)  # paired with the other side's
    tokens: list[int] = field(default_factory=list)     # prompt + completion, per request
    cpu_s: list[float] = field(default_factory=list)    # process CPU-seconds, per request

    @property
    def p50_ms(self) -> float | None:
        """Median answer latency."""
        return statistics.median(self.latencies_ms) if self.latencies_ms else None


def ask(engine, name: str, qa_text: str, chat_text: str, max_tokens: int,
        side: Score | None = None) -> tuple[str, float]:
    """One answer from a registry model: Q/A specialists get `qa_text`, chat models `chat_text`.
    With `side`, its tokens and CPU-seconds are recorded there (for the cost columns)."""
    manager = engine.manager
    backend = manager.acquire(name)
    try:
        content = qa_text if getattr(backend, "encoder", None) is not None else chat_text
        started, cpu = time.perf_counter(), time.process_time()
        answer = backend.chat([{"role": "user", "content": content}], max_tokens=max_tokens)
        text, usage = answer[0], answer[1] if len(answer) > 1 else None
        if side is not None:
            side.cpu_s.append(time.process_time() - cpu)
            side.tokens.append(int(getattr(usage, "prompt_tokens", 0) or 0) + int(getattr(usage, "completion_tokens", 0) or 0))
        return text.strip(), (time.perf_counter() - started) * 1000
    finally:
        manager.release(name)


def timed(fn, *args) -> tuple[object, float]:
    """fn(*args) and its latency in ms."""
    started = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - started) * 1000


def memory_of(engine, name: str | None) -> int | None:
    """Measured bytes of a loaded model (None for tools or unmeasured models)."""
    if name is None or name not in engine.manager.slots:
        return None
    row = next(s for s in engine.manager.status() if s["name"] == name)
    return row["measured_bytes"] or row["estimated_bytes"]


def pick_label(answer: str, labels: list[str]) -> str | None:
    """The intent an answer names first (whole words, case-insensitive)."""
    found = [(m.start(), label) for label in labels
             for m in [re.search(rf"\b{re.escape(label)}\b", answer, re.IGNORECASE)] if m]
    return min(found)[1] if found else None


def intent_job(engine, examples: list[dict]) -> tuple[Score, Score]:
    """The router chain vs the primary asked zero-shot to pick the intent: accuracy."""
    labels = sorted({ex["label"] for ex in examples})
    router = Score(engine.config.router.model or "keyword")
    primary = Score(engine.primary)
    hits_r = hits_p = 0
    for ex in examples:
        cpu = time.process_time()
        choice, ms = timed(engine.route, ex["text"])
        router.cpu_s.append(time.process_time() - cpu)
        router.latencies_ms.append(ms)
        router.per_example.append(float(choice.name == ex["label"]))
        hits_r += choice.name == ex["label"]
        prompt = INTENT_PROMPT.format(labels=", ".join(labels), text=ex["text"])
        text, ms = ask(engine, engine.primary, prompt, prompt, max_tokens=8, side=primary)
        primary.latencies_ms.append(ms)
        primary.per_example.append(float(pick_label(text, labels) == ex["label"]))
        hits_p += pick_label(text, labels) == ex["label"]
    router.score, primary.score = hits_r / len(examples), hits_p / len(examples)
    return _with_memory(engine, router), _with_memory(engine, primary)


def code_job(engine, examples: list[dict], specialist: str | None) -> tuple[Score, Score]:
    """The code specialist vs the primary with the code instruction: pass@1 in the sandbox."""
    from cadre.evaluation.judges import code
    from cadre.runtime.tools import CODE_INSTRUCTION

    def one(side, ex):
        text, ms = ask(engine, side.model, ex["prompt"], CODE_INSTRUCTION.format(text=ex["prompt"]), 160, side)
        side.latencies_ms.append(ms)
        return code(text, ex["tests"])
    return _alternate(engine, [Score(specialist), Score(engine.primary)], examples, one)


def math_job(engine, examples: list[dict]) -> tuple[Score, Score]:
    """The sympy tool vs the primary (given the problem as it is): the numeric judge."""
    from cadre.evaluation.judges import numeric
    from cadre.runtime.errors import ToolError
    from cadre.runtime.mathsolve import solve_math

    tool, primary = Score("tool:solve_math"), Score(engine.primary)
    got_t = got_p = 0.0
    for ex in examples:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            answer = solve_math(ex["problem"]).text
        except ToolError:
            answer = ""  # the engine would hand it to the primary; as a tool it scored nothing
        tool.latencies_ms.append((time.perf_counter() - started) * 1000)
        tool.cpu_s.append(time.process_time() - cpu)
        tool.per_example.append(numeric(answer, ex["answer"]))
        got_t += tool.per_example[-1]
        text, ms = ask(engine, engine.primary, ex["problem"], ex["problem"], max_tokens=96, side=primary)
        primary.latencies_ms.append(ms)
        primary.per_example.append(numeric(text, ex["answer"]))
        got_p += primary.per_example[-1]
    tool.score, primary.score = got_t / len(examples), got_p / len(examples)
    tool.memory_bytes = 0
    return tool, _with_memory(engine, primary)


def vision_job(engine, examples: list[dict], specialist: str | None) -> tuple[Score, Score]:
    """The captioner vs the primary given the same features: ROUGE-L against the caption."""
    from cadre.evaluation.metrics import rouge_l
    from cadre.runtime.vision import VISION_INSTRUCTION, VISION_MARK

    def one(side, ex):
        text, ms = ask(engine, side.model, f"{VISION_MARK} {ex['features']}",
                       VISION_INSTRUCTION.format(features=ex["features"]), 48, side)
        side.latencies_ms.append(ms)
        return rouge_l([ex["caption"]], [text])
    return _alternate(engine, [Score(specialist), Score(engine.primary)], examples, one)


def _alternate(engine, sides: list[Score], examples: list[dict], one) -> tuple[Score, Score]:
    """Each example by each side in turn (so a change in machine load hits both alike); the
    mean of `one(side, example)`. A model that cannot load is left unscored, with the error."""
    from cadre.runtime.errors import BackendError, BudgetError

    totals = {id(side): 0.0 for side in sides}
    for ex in examples:
        for side in sides:
            if side.model is None or side.error:
                continue
            try:
                side.per_example.append(one(side, ex))
                totals[id(side)] += side.per_example[-1]
            except (BackendError, BudgetError) as exc:
                side.error = str(exc).splitlines()[0][:160]
    for side in sides:
        if side.model is not None and not side.error:
            side.score = totals[id(side)] / len(examples)
    return tuple(_with_memory(engine, s) for s in sides)


def _with_memory(engine, side: Score) -> Score:
    side.memory_bytes = memory_of(engine, side.model)
    return side
