"""Server-sent events in OpenAI's chunk format, stop sequences, and cancellation.

A stream ends with `data: [DONE]`. A client that disconnects cancels its generation
(`Answer.cancel()`, cadre/runtime/answer.py), whether it was streaming or waiting for a whole answer.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
from starlette.responses import StreamingResponse

_END = object()
log = logging.getLogger("cadre.server")


def new_id(prefix: str) -> str:
    """An OpenAI-style object id, e.g. chatcmpl-3f2a..."""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def sse(payload: dict | str) -> str:
    """One server-sent event."""
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n"


class StopFilter:
    """Cut text at the first stop sequence, holding back a tail that could begin one."""

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.buffer, self.stopped = "", False

    def feed(self, piece: str) -> str:
        """Add a piece; return the text that is safe to emit now."""
        if self.stopped:
            return ""
        self.buffer += piece
        cut = min((i for i in (self.buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self.buffer, self.stopped = self.buffer[:cut], "", True
            return out
        keep = len(self.buffer) - self.hold if self.hold else len(self.buffer)
        out, self.buffer = self.buffer[:max(keep, 0)], self.buffer[max(keep, 0):]
        return out

    def flush(self) -> str:
        """The held-back tail once the stream ended without a stop."""
        out, self.buffer = self.buffer, ""
        return out


def apply_stops(text: str, stops: list[str]) -> tuple[str, bool]:
    """Truncate a whole answer at its first stop sequence; True when one was found."""
    f = StopFilter(stops)
    out = f.feed(text)
    return (out, True) if f.stopped else (out + f.flush(), False)


def _cut(f: StopFilter | None, answer, piece) -> tuple[str, bool]:
    """One piece through the stop filter: (text to emit, whether a stop sequence ended it)."""
    if f is None or not isinstance(piece, str):  # tool-call deltas: stops apply to text only
        return piece, False
    out = f.feed(piece)
    if f.stopped:
        answer.stopped()
    return out, f.stopped


def filtered_deltas(answer, stops: list[str]) -> Iterator:
    """The answer's deltas (in a worker thread) cut at the first stop sequence; generation
    is cancelled there."""
    f = StopFilter(stops) if stops else None
    for piece in answer.deltas:
        out, stopped = _cut(f, answer, piece)
        if out:
            yield out
        if stopped:
            answer.cancel()
            return
    if f is not None and (tail := f.flush()):
        yield tail


async def afiltered(answer, stops: list[str]) -> AsyncIterator:
    """The same, for an answer awaited on the loop (the upstream call ends at the stop)."""
    source = answer.astream()
    f = StopFilter(stops) if stops else None
    try:
        async for piece in source:
            out, stopped = _cut(f, answer, piece)
            if out:
                yield out
            if stopped:
                return
        if f is not None and (tail := f.flush()):
            yield tail
    finally:
        await source.aclose()


async def awhole(request, answer, stops: list[str]) -> str:
    """An answer awaited on the loop, asked of the upstream whole; a client that leaves
    cancels it."""
    text, stopped = apply_stops(await cancellable(request, answer, answer.awhole), stops)
    if stopped:
        answer.stopped()
    return text


async def cancellable(request, answer, call):
    """Await `call()`; a client that leaves cancels the answer and the call (an error is
    the API's error)."""
    from cadre.server.errors import to_api_error

    result, failure = None, None
    async with anyio.create_task_group() as group:
        async def watch():
            await wait_for_disconnect(request.receive, answer.cancel)
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            result = await call()
        except Exception as exc:
            failure = exc
        group.cancel_scope.cancel()
    if failure is not None:
        raise to_api_error(failure) from None
    if result is None:
        raise to_api_error(RuntimeError("the client went away"))
    return result


async def next_piece(pools, iterator: Iterator[str]):
    """The next delta, computed in a generation worker thread (the engine is synchronous)."""
    return await pools.run("generation", next, iterator, _END)


async def pieces(pools, iterator: Iterator[str]) -> AsyncIterator[str]:
    """Iterate a synchronous delta iterator without blocking the event loop."""
    while (piece := await next_piece(pools, iterator)) is not _END:
        yield piece


def chunk(base: dict, delta: dict, finish: str | None = None, kind: str = "chat") -> dict:
    """One chat.completion.chunk (or text_completion chunk for kind='text')."""
    if kind == "text":
        choice = {"index": 0, "text": delta.get("content", ""), "logprobs": None,
                  "finish_reason": finish}
    else:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {**base, "choices": [choice]}


def stream_base(model: str, kind: str) -> dict:
    """Fields every chunk of one stream shares."""
    prefix, obj = ("cmpl", "text_completion") if kind == "text" else ("chatcmpl", "chat.completion.chunk")
    return {"id": new_id(prefix), "object": obj, "created": int(time.time()), "model": model}


def stop_stream(handle, iterator=None) -> None:
    """End a generation for good: set its cancel flag and close its generators, so the
    engine's cleanup (releasing the model) runs now rather than at garbage collection.
    For an async iterator it returns the `aclose()` awaitable, for the caller to await."""
    handle.cancel()
    if hasattr(iterator, "aclose"):  # the async path: closed on the loop, model released there
        return iterator.aclose()
    for gen in (iterator, handle.deltas):
        close = getattr(gen, "close", None)
        if close is not None:
            try:
                close()
            except ValueError:  # still running in a worker thread: the cancel flag stops it
                pass


class CancellingStream(StreamingResponse):
    """A StreamingResponse that runs `on_close` however it ends (done, error or disconnect)."""

    def __init__(self, content, on_close: Callable[[], None], headers: dict | None = None):
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self.on_close = on_close

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            closing = self.on_close()
            if closing is not None:  # an async generator's aclose(): awaited even when cancelled
                with anyio.CancelScope(shield=True):
                    await closing


async def wait_for_disconnect(receive, on_disconnect: Callable[[], None]) -> None:
    """Call `on_disconnect` when the client goes away (run beside a blocking generation)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            log.info("client disconnected; cancelling its generation")
            on_disconnect()
            return
