"""Chat and text completions: admission to the model's queue, generation in a worker
thread, cancellation when the client leaves, and OpenAI-format responses.

Requests without tools go through `engine.chat_stream`, even when the client wants a
whole answer: the handle names the chosen model before any token (so the request is
admitted to *that* model's queue) and can be cancelled. Requests with tools go
through `engine.chat`, which runs the tool loop.
"""
from __future__ import annotations

import logging
import time
from urllib.parse import quote

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse

from cadre.server.dashboard.traffic import note_answer
from cadre.server.errors import error_body, to_api_error
from cadre.server.streaming import (
    _END,
    CancellingStream,
    apply_stops,
    chunk,
    filtered_deltas,
    new_id,
    next_piece,
    pieces,
    sse,
    stop_stream,
    stream_base,
    wait_for_disconnect,
)

log = logging.getLogger("cadre.server")
_READABLE = {"≥": ">=", "≤": "<=", "→": "->", "←": "<-", "…": "...", "—": "-", "–": "-"}


def route_headers(reason: str) -> dict[str, str]:
    """The x-cadre-route header, latin-1 safe: common symbols spelled out, the rest
    percent-encoded, control characters dropped."""
    text = "".join(_READABLE.get(ch, ch) for ch in reason or "")
    text = "".join(ch if 32 <= ord(ch) < 127 else ("" if ord(ch) < 32 else quote(ch)) for ch in text)
    return {"x-cadre-route": text[:1024]}


def usage_dict(usage) -> dict:
    """OpenAI's usage object."""
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def _sampling(body, default_max: int) -> dict:
    limit = body.token_limit(default_max) if hasattr(body, "token_limit") else body.max_tokens
    return {"max_tokens": limit or default_max, "temperature": body.temperature, "top_p": body.top_p}


def _join(pieces) -> str:
    return "".join(pieces)


def _count(state, requested: str, answer) -> None:
    """Metrics for one generation: who answered, and the routing decision if any."""
    virtual = requested == "auto" or requested.startswith("router-")
    route = getattr(answer, "route", None)
    state.metrics.answered(answer.model, requested if virtual else "direct",
                           route.name if route is not None else None)
    note_answer(answer, requested)


async def _open_stream(state, messages: list[dict], model: str, sampling: dict):
    """Start a stream: routing and admission to the chosen model's queue happen here
    (a full queue raises Overloaded → 429), before any response byte is sent."""
    try:
        handle = await state.pools.run("generation", state.engine.chat_stream, messages,
                                       model=model, **sampling)
    except Exception as exc:
        raise to_api_error(exc) from None
    _count(state, model, handle)
    return handle


async def _collect(request: Request, handle, stops: list[str]) -> str:
    """Whole answer from a stream in a worker thread; a client that leaves cancels it."""
    state, text, failure = request.app.state, "", None
    async with anyio.create_task_group() as group:
        group.start_soon(wait_for_disconnect, request.receive, handle.cancel)
        try:
            text = await state.pools.run("generation", _join, filtered_deltas(handle, stops))
        except Exception as exc:
            failure = exc
        group.cancel_scope.cancel()
    if failure is not None:
        raise to_api_error(failure) from None
    return text


async def chat(request: Request, body) -> JSONResponse | CancellingStream:
    """Answer one chat completion request."""
    state = request.app.state
    sampling = _sampling(body, state.settings.default_max_tokens)
    messages = body.engine_messages()
    if body.tools and body.tool_choice != "none":
        return await _chat_with_tools(request, body, messages, sampling)
    handle = await _open_stream(state, messages, body.model, sampling)
    if body.stream:
        return await _stream(request, handle, body, "chat")
    try:
        text = await _collect(request, handle, body.stop_list())
    finally:
        stop_stream(handle)  # a no-op once finished; releases the model if we failed midway
    message = {"role": "assistant", "content": text}
    return _whole(handle.model, handle.reason, message, handle.finish_reason, handle.usage, "chat")


async def _chat_with_tools(request: Request, body, messages: list[dict], sampling: dict):
    """Run the engine's tool loop; tool calls left for the client come back in OpenAI form."""
    state = request.app.state
    tools = [t.model_dump(exclude_none=True) for t in body.tools]
    choice = body.tool_choice.model_dump() if hasattr(body.tool_choice, "model_dump") else body.tool_choice
    try:
        result = await state.pools.run("generation", state.engine.chat, messages, model=body.model,
                                       tools=tools, tool_choice=choice, **sampling)
    except Exception as exc:
        raise to_api_error(exc) from None
    _count(state, body.model, result)
    text, stopped = apply_stops(result.text or "", body.stop_list())
    message = {"role": "assistant", "content": text or (None if result.tool_calls else "")}
    if result.tool_calls:
        message["tool_calls"] = result.tool_calls
    finish = "tool_calls" if result.tool_calls else ("stop" if stopped else result.finish_reason)
    if body.stream:
        return _replay_stream(result, message, finish, body)
    return _whole(result.model, result.reason, message, finish, result.usage, "chat")


def _whole(model: str, reason: str, message: dict, finish: str, usage, kind: str) -> JSONResponse:
    """A whole (non-streamed) chat.completion or text_completion."""
    if kind == "text":
        obj, choice = "text_completion", {"index": 0, "text": message["content"], "logprobs": None,
                                          "finish_reason": finish}
    else:
        obj, choice = "chat.completion", {"index": 0, "message": message, "logprobs": None,
                                          "finish_reason": finish}
    payload = {"id": new_id("cmpl" if kind == "text" else "chatcmpl"), "object": obj,
               "created": int(time.time()), "model": model, "choices": [choice],
               "usage": usage_dict(usage), "system_fingerprint": None}
    return JSONResponse(payload, headers=route_headers(reason))


async def _stream(request: Request, handle, body, kind: str) -> CancellingStream:
    """SSE for a handle; the first piece is computed before the 200 goes out, so a model
    that fails to load is still answered with its proper status."""
    pools = request.app.state.pools
    iterator = filtered_deltas(handle, body.stop_list())
    try:
        first = await next_piece(pools, iterator)
    except BaseException as exc:  # a failure, or the client leaving before the first piece
        stop_stream(handle, iterator)
        if isinstance(exc, Exception):
            raise to_api_error(exc) from None
        raise
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    events = _events(pools, handle, first, iterator, kind, include_usage)
    return CancellingStream(events, on_close=lambda: stop_stream(handle, iterator),
                            headers=route_headers(handle.reason))


async def _events(pools, handle, first, iterator, kind: str, include_usage: bool):
    """The SSE events of one stream, ending with [DONE] (an error mid-stream is an event)."""
    base = stream_base(handle.model, kind)
    if kind == "chat":
        yield sse(chunk(base, {"role": "assistant", "content": ""}))
    try:
        if first is not _END:
            yield sse(chunk(base, {"content": first}, kind=kind))
            async for piece in pieces(pools, iterator):
                yield sse(chunk(base, {"content": piece}, kind=kind))
    except Exception as exc:
        err = to_api_error(exc)
        yield sse(error_body(err.status, err.message, err.param, err.code))
        yield sse("[DONE]")
        return
    yield sse(chunk(base, {} if kind == "chat" else {"content": ""}, handle.finish_reason, kind))
    if include_usage:
        yield sse({**base, "choices": [], "usage": usage_dict(handle.usage)})
    yield sse("[DONE]")


def _replay_stream(result, message: dict, finish: str, body) -> CancellingStream:
    """A finished tool-loop answer sent as an SSE stream (content, then tool calls)."""
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def events():
        base = stream_base(result.model, "chat")
        yield sse(chunk(base, {"role": "assistant", "content": ""}))
        if message.get("content"):
            yield sse(chunk(base, {"content": message["content"]}))
        for i, call in enumerate(message.get("tool_calls") or []):
            yield sse(chunk(base, {"tool_calls": [{"index": i, **call}]}))
        yield sse(chunk(base, {}, finish))
        if include_usage:
            yield sse({**base, "choices": [], "usage": usage_dict(result.usage)})
        yield sse("[DONE]")
    return CancellingStream(events(), on_close=lambda: None, headers=route_headers(result.reason))


async def complete(request: Request, body) -> JSONResponse | CancellingStream:
    """Answer one text completion: the prompt goes to the model as a single user turn."""
    state = request.app.state
    sampling = _sampling(body, 16)
    messages = [{"role": "user", "content": body.prompt}]
    handle = await _open_stream(state, messages, body.model, sampling)
    if body.stream:
        return await _stream(request, handle, body, "text")
    try:
        text = await _collect(request, handle, body.stop_list())
    finally:
        stop_stream(handle)
    return _whole(handle.model, handle.reason, {"content": text}, handle.finish_reason,
                  handle.usage, "text")

