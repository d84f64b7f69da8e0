"""The Answer: the one object a caller (the server, or Python through `Engine.chat`) gets
back for a request, and the only code that writes its fields.

Its model and reason are known before the first delta. Iterate `deltas` (or the Answer
itself) for text pieces and OpenAI tool-call deltas; when the model's backend can be
awaited (the `openai` backend), `astream()` and `awhole()` answer on the caller's event
loop instead (use one of them, once). `proxy` sends the client's whole request to an
OpenAI-compatible upstream as it came (runtime/proxy.py). Usage, finish_reason and model
are final once the answer is read; `cancel()` stops generation at the next token.

The degenerate-answer fallback lives here, once, for HTTP and Python alike: a routed
specialist's answer is held back until its first HOLD_CHARS characters are judged; an
empty or degenerate one ("the the the the ...", what an undertrained tiny model writes) is
dropped and the primary answers instead, the reason ending "empty answer → primary" or
"degenerate answer → primary". A client never sees a word of the dropped answer.
"""
from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator

from cadre.routing.base import RouteChoice
from cadre.runtime.answers import looks_degenerate
from cadre.runtime.types import Usage

HOLD_CHARS = 200  # a specialist's opening judged before any of it is shown (the fallback's window)
_END = object()


class Answer:
    """A streamed answer: who answers and why first, then the deltas, then usage."""

    def __init__(self, model: str, reason: str, route: RouteChoice | None = None, *, usage: Usage | None = None,
                 finish_reason: str = "stop", request_id: str | None = None, cost: float | None = None,
                 feedback_token: str | None = None):
        self.model, self.reason, self.route = model, reason, route
        self.usage = usage if usage is not None else Usage()
        self.finish_reason, self.request_id, self.cost = finish_reason, request_id, cost
        self.feedback_token = feedback_token
        self.deltas: Iterator = iter(())
        self.astream: Callable | None = None
        self.awhole: Callable | None = None
        self.proxy = None             # runtime/proxy.Proxy, for an OpenAI-compatible upstream
        self.error: str | None = None  # why the answer failed, for the decision log
        self.logprobs: list | None = None  # a local model's logprobs.content, when the client asked
        self.cancelled = threading.Event()

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Iterator:
        """The deltas, in a worker thread (the synchronous form)."""
        return self.deltas

    def __aiter__(self) -> AsyncIterator:
        """`async for delta in answer`: on the loop when the backend can be awaited, else
        each piece computed in a worker thread."""
        return self.astream() if self.astream is not None else _pulled(self.deltas)

    def collect(self) -> tuple[str, list[dict]]:
        """The whole answer: (text, tool calls)."""
        from cadre.runtime.passthrough import drain

        return drain(self.deltas)

    def on_loop(self) -> bool:
        """True when the answer is awaited on the caller's event loop (astream/awhole)."""
        return self.awhole is not None

    def cancel(self) -> None:
        """The client left: generation stops at its next token."""
        self.cancelled.set()

    # ------------------------------------------------------------------ writing (this module's stages only)
    def ready(self, text: str) -> None:
        """An answer computed while deciding (a tool's result)."""
        self.deltas = iter([text])

    def read_from(self, pieces: Iterator, lease, replace=None) -> None:
        """The model's pieces (judged for the fallback when `replace` is given); the lease
        finishes (release, record) when they end."""
        self.deltas = _finishing(pieces if replace is None else judged(pieces, replace), lease)

    def rename(self, model: str, reason: str, cost: float | None) -> None:
        """Another model answers (a failover, or the fallback to the primary)."""
        self.model, self.reason, self.cost = model, reason, cost

    def settle(self, usage: Usage | None = None, finish_reason: str | None = None, logprobs=None) -> None:
        """The model's final figures, once it has finished."""
        self.usage = usage if usage is not None else self.usage
        self.finish_reason = finish_reason or self.finish_reason
        self.logprobs = logprobs if logprobs is not None else self.logprobs

    def add_completion_tokens(self, tokens: int) -> None:
        """Another choice's tokens (a local model asked n times) count in this answer's usage."""
        self.usage.completion_tokens += tokens

    def stopped(self) -> None:
        """A stop sequence ended the answer (the server's stop filter)."""
        self.finish_reason = "stop"

    def failed(self, exc: BaseException | str) -> None:
        self.error = exc if isinstance(exc, str) else (str(exc) or type(exc).__name__)


async def _pulled(pieces: Iterator) -> AsyncIterator:
    import anyio

    while (piece := await anyio.to_thread.run_sync(next, pieces, _END)) is not _END:
        yield piece


def _finishing(pieces: Iterator, lease) -> Iterator:
    """The answer's pieces; its record is written when they end."""
    try:
        yield from pieces
    finally:
        lease.finish()


# ---------------------------------------------------------------------- the fallback
def replaced_because(text: str | None) -> str | None:
    """Why a specialist's answer is dropped ("empty answer", "degenerate answer"), judged
    on its first HOLD_CHARS characters; None when it stands."""
    head = (text or "").strip()[:HOLD_CHARS]
    if not head:
        return "empty answer"
    return "degenerate answer" if looks_degenerate(head) else None


def falls_back(plan, primary: str) -> bool:
    """Whether a plan's answer is judged: a routed specialist's own words (not the primary's,
    a failover chain's, or an answer fitted to the client's tools or fields)."""
    return (plan.route is not None and plan.model != primary and plan.prepared is not None
            and plan.chain is None and not plan.fields and plan.client_tools is None)


class _Judge:
    """Holds a specialist's pieces until its opening is judged."""

    def __init__(self):
        self.held: list = []
        self.text, self.open, self.why = "", False, None

    def feed(self, piece) -> list:
        """The pieces safe to show now (none while the opening is being judged)."""
        if self.open:
            return [piece]
        self.held.append(piece)
        self.text += piece if isinstance(piece, str) else ""
        if len(self.text.strip()) < HOLD_CHARS:
            return []
        self.why = replaced_because(self.text)
        self.open = self.why is None
        out, self.held = (self.held, []) if self.open else ([], self.held)
        return out

    def decided_bad(self) -> bool:
        return self.why is not None

    def verdict(self) -> str | None:
        """At the end: why the held answer is dropped, or None (then `held` is shown)."""
        return None if self.open else replaced_because(self.text)


def judged(pieces: Iterator, replace: Callable[[str], Iterator]) -> Iterator:
    """A specialist's pieces, or the primary's (`replace(why)`) when its answer is unusable."""
    judge = _Judge()
    try:
        for piece in pieces:
            yield from judge.feed(piece)
            if judge.decided_bad():
                break
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # releases the specialist before the primary is acquired
    why = judge.verdict()
    if why is None:
        yield from judge.held
    else:
        yield from replace(why)


async def ajudged(pieces: AsyncIterator, replace: Callable[[str], Iterator]) -> AsyncIterator:
    """`judged` on the event loop; the primary's pieces come from worker threads."""
    import anyio

    judge = _Judge()
    try:
        async for piece in pieces:
            for out in judge.feed(piece):
                yield out
            if judge.decided_bad():
                break
    finally:
        await pieces.aclose()
    why = judge.verdict()
    if why is None:
        for out in judge.held:
            yield out
        return
    rest = await anyio.to_thread.run_sync(replace, why)  # acquiring the primary may load it
    try:
        while (piece := await anyio.to_thread.run_sync(next, rest, _END)) is not _END:
            yield piece
    finally:
        await anyio.to_thread.run_sync(rest.close)


async def awhole_judged(whole: Callable, replace: Callable[[str], Iterator]) -> str:
    """`awhole` with the fallback: an unusable answer is asked of the primary instead."""
    import anyio

    text = await whole()
    why = replaced_because(text)
    if why is None:
        return text
    return await anyio.to_thread.run_sync(lambda: "".join(p for p in replace(why) if isinstance(p, str)))


# ---------------------------------------------------------------------- awaited answers
def attach_async(answer: Answer, prepared, lease, sampling, replace=None) -> None:
    """Give the answer `astream()` and `awhole()` over the prepared model (an `openai`
    backend): the upstream call runs on the server's loop, so a request waiting on a slow
    upstream holds a socket, not a worker thread."""
    max_tokens, temperature, top_p = sampling.triple()

    async def specialist():
        from cadre.runtime.backends.openai import AsyncStream

        out, first = AsyncStream(), True
        async for piece in prepared.backend.astream(out, prepared.messages, max_tokens, temperature, top_p):
            if answer.cancelled.is_set():
                answer.settle(finish_reason="cancelled")
                return
            piece = piece.lstrip() if first else piece
            first = first and not piece
            if piece:
                yield piece
        answer.settle(out.usage, out.finish_reason)

    async def whole() -> str:
        text, usage, finish = await prepared.backend.awhole(prepared.messages, max_tokens, temperature, top_p)
        answer.settle(usage, finish)
        return text.lstrip()

    async def astream():
        try:
            source = specialist() if replace is None else ajudged(_released(specialist(), lease), replace)
            async for piece in source:
                yield piece
        except Exception as exc:  # the decision log must say this answer failed
            answer.failed(exc)
            raise
        finally:
            await lease.afinish()

    async def awhole() -> str:
        try:
            if replace is None:
                return await whole()
            return await awhole_judged(_released_call(whole, lease), replace)
        except Exception as exc:
            answer.failed(exc)
            raise
        finally:
            await lease.afinish()

    answer.astream, answer.awhole = astream, awhole


async def _released(pieces: AsyncIterator, lease) -> AsyncIterator:
    """The specialist's pieces; its model is released as soon as they end."""
    try:
        async for piece in pieces:
            yield piece
    finally:
        await lease.arelease()


def _released_call(whole: Callable, lease) -> Callable:
    async def call():
        try:
            return await whole()
        finally:
            await lease.arelease()
    return call


def attach_proxy(answer: Answer, plan, lease, sampling, remember) -> None:
    """Give the answer a `proxy` (runtime/proxy.py): the client's request, with the messages
    the plan chose and only the sampling fields the client set, for the upstream as it is."""
    from cadre.runtime.passthrough import wants_tool_call
    from cadre.runtime.proxy import Proxy

    body = {"messages": plan.prepared.messages, **sampling.set_fields(), **plan.fields}
    forced = "tools" in plan.fields and wants_tool_call(plan.fields.get("tool_choice"))
    answer.proxy = Proxy(answer, plan.prepared.backend, body, lease.afinish, forced, remember)
