"""The async answer path: for models whose backend can be awaited (see
cadre/runtime/async_answer.py), deltas and whole answers are awaited on the event loop
rather than fetched piece by piece through worker threads. Stop sequences, cancellation
on disconnect and error mapping behave as on the threaded path.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from fastapi import Request

from cadre.server.errors import to_api_error
from cadre.server.streaming import StopFilter, apply_stops, wait_for_disconnect


def is_async(handle) -> bool:
    """True when the handle answers on the event loop."""
    return getattr(handle, "awhole", None) is not None


async def filtered(handle, stops: list[str]) -> AsyncIterator[str]:
    """The handle's deltas cut at the first stop sequence (the upstream call ends there)."""
    source = handle.astream()
    f = StopFilter(stops) if stops else None
    try:
        async for piece in source:
            if f is None:
                yield piece
                continue
            out = f.feed(piece)
            if out:
                yield out
            if f.stopped:
                handle.finish_reason = "stop"
                return
        tail = f.flush() if f is not None else ""
        if tail:
            yield tail
    finally:
        await source.aclose()


async def collect(request: Request, handle, stops: list[str]) -> str:
    """The whole answer, asked of the upstream whole; a client that leaves cancels it."""
    text, failure = "", None
    async with anyio.create_task_group() as group:
        async def watch():
            await wait_for_disconnect(request.receive, handle.cancel)
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            text = await handle.awhole()
        except Exception as exc:
            failure = exc
        group.cancel_scope.cancel()
    if failure is not None:
        raise to_api_error(failure) from None
    text, stopped = apply_stops(text, stops)
    if stopped:
        handle.finish_reason = "stop"
    return text
