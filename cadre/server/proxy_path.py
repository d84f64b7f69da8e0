"""Chat completions through the faithful proxy (cadre/runtime/proxy.py): the upstream's
own JSON, or its own chunks, with only `model` renamed to the registry name that
answered (what routing reports) and cadre's headers added. A client that leaves cancels
the upstream call.
"""
from __future__ import annotations

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse

from cadre.server.errors import error_body, to_api_error
from cadre.server.streaming import CancellingStream, cancellable, sse


async def whole(request: Request, handle, headers) -> JSONResponse:
    """The upstream's chat.completion, asked whole."""
    data = await cancellable(request, handle, handle.proxy.whole)
    data["model"] = handle.model
    return JSONResponse(data, headers=headers(handle))


async def stream(request: Request, handle, include_usage: bool, headers) -> CancellingStream:
    """The upstream's chunks as SSE; the first comes before the 200, so an upstream that
    fails at once is answered with its proper status."""
    chunks = handle.proxy.chunks()
    try:
        first = await anext(chunks, None)
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await chunks.aclose()
        if isinstance(exc, Exception):
            raise to_api_error(exc) from None
        raise
    events = _events(handle, first, chunks, include_usage)

    def close():
        handle.cancel()
        return chunks.aclose()
    return CancellingStream(events, on_close=close, headers=headers(handle))


async def _events(handle, first, chunks, include_usage: bool):
    try:
        if first is not None:
            out = _renamed(first, handle.model, include_usage)
            if out is not None:
                yield sse(out)
            async for chunk in chunks:
                out = _renamed(chunk, handle.model, include_usage)
                if out is not None:
                    yield sse(out)
    except Exception as exc:
        err = to_api_error(exc)
        yield sse(error_body(err.status, err.message, err.param, err.code))
    yield sse("[DONE]")


def _renamed(chunk: dict, model: str, include_usage: bool) -> dict | None:
    """The chunk with cadre's model name; the usage-only chunk cadre asked for is dropped
    when the client did not ask for it, and usage on other chunks likewise."""
    if not include_usage and "usage" in chunk:
        if not chunk.get("choices"):
            return None
        chunk = {k: v for k, v in chunk.items() if k != "usage"}
    return {**chunk, "model": model}
