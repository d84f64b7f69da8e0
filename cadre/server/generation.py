"""Chat and text completions: admission to the model's queue, generation in a worker
thread, cancellation when the client leaves, and OpenAI-format responses.

Every request goes through `engine.chat_stream`, even when the client wants a whole
answer: the handle names the chosen model before any token (so the request is admitted
to *that* model's queue) and can be cancelled. Its deltas are text pieces and, when the
model calls the client's tools, OpenAI tool-call deltas (dicts), streamed as they come.
A request to an `openai` upstream goes through the faithful proxy (proxy_path): the
client's request as it came, whole or streamed as asked, the upstream's own answer back.
"""
from __future__ import annotations

import logging
import time
from functools import lru_cache
from urllib.parse import quote

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse

from cadre.runtime.inline import WouldBlock, inline
from cadre.runtime.passthrough import drain
from cadre.server import proxy_path
from cadre.server.dashboard.traffic import note_answer
from cadre.server.errors import ApiError, error_body, to_api_error
from cadre.server.redact import redact
from cadre.server.route_batch import INLINE_MAX_CHARS
from cadre.server.streaming import (
    _END,
    CancellingStream,
    afiltered,
    awhole,
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
_READABLE = {"≥": ">=", "≤": "<=", "→": "->", "←": "<-", "…": "...", "—": "-", "–": "-", "−": "-"}


def route_headers(reason: str) -> dict[str, str]:
    """The x-cadre-route header, latin-1 safe: common symbols spelled out, the rest
    percent-encoded, control characters dropped."""
    return {"x-cadre-route": _route_header(reason)}


@lru_cache(maxsize=4096)  # a handful of distinct reasons, one per route and score bucket
def _route_header(reason: str) -> str:
    text = "".join(_READABLE.get(ch, ch) for ch in redact(reason))
    text = "".join(ch if 32 <= ord(ch) < 127 else ("" if ord(ch) < 32 else quote(ch)) for ch in text)
    return text[:1024]


def gateway_headers(answer) -> dict[str, str]:
    """x-cadre-cost (the estimated cost of this call), x-cadre-request-id (the id that
    /v1/feedback refers to) and x-cadre-feedback-token (what it must carry) of an engine
    result or stream handle, where known."""
    out = {}
    cost = getattr(answer, "cost", None)
    if cost is not None:
        out["x-cadre-cost"] = f"{float(cost):.6g}"
    request_id = getattr(answer, "request_id", None)
    if request_id:
        out["x-cadre-request-id"] = request_id
    token = getattr(answer, "feedback_token", None)
    if token:  # only in this response: the dashboard and the log never show it
        out["x-cadre-feedback-token"] = token
    return out


def usage_dict(usage) -> dict:
    """OpenAI's usage object."""
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def _sampling(body) -> dict:
    """The sampling fields the client set; unset ones stay None (never sent upstream)."""
    return {"max_tokens": body.max_tokens, "temperature": body.temperature, "top_p": body.top_p}


def session_key(request: Request) -> dict:
    """The `x-cadre-session` header, which keeps a conversation on one model."""
    key = request.headers.get("x-cadre-session")
    return {"session": key[:200]} if key else {}


def _count(state, requested: str, answer) -> None:
    """Metrics for one generation: who answered, and the routing decision if any."""
    route, labels = getattr(answer, "route", None), state.labels
    state.metrics.answered(labels.model(answer.model), labels.requested(requested),
                           labels.route(route.name if route is not None else None))
    note_answer(answer, requested)


def _plan_inline(state, messages: list[dict], model: str, sampling: dict, fields: dict | None):
    """A request's plan made on the loop, or None when it would load the model or wait in
    its queue, or when the client's fields need the engine to fit the plan to them: the
    caller then plans in a worker thread. A named model's plan is admission only; a routed
    one (auto, router-*) is planned inline only while no other request is in flight, since
    the router's call (a fraction of a millisecond for the nano router) then blocks nobody."""
    if fields or (model not in state.engine.registry and not state.in_flight.alone()) \
            or _text_chars(messages) > INLINE_MAX_CHARS:  # long text: its tokenizing and routing go to a thread
        return None
    try:
        with inline():
            return state.engine.chat_stream(messages, model=model, **sampling)
    except WouldBlock:
        return None


def _text_chars(messages: list[dict]) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(part.get("text") or "") for part in content if isinstance(part, dict))
    return total


async def open_stream(state, messages: list[dict], model: str, sampling: dict, fields: dict | None = None):
    """Start a stream: routing and admission to the chosen model's queue happen here
    (a full queue raises Overloaded → 429), before any response byte is sent."""
    try:
        handle = _plan_inline(state, messages, model, sampling, fields)
        if handle is None:
            handle = await state.pools.run("generation", state.engine.chat_stream, messages,
                                           model=model, **sampling, **(fields or {}))
    except Exception as exc:
        raise to_api_error(exc) from None
    _count(state, model, handle)
    return handle


async def _collect(request: Request, handle, stops: list[str]) -> tuple[str, list[dict]]:
    """Whole answer (text, tool calls) from a stream in a worker thread; a client that
    leaves cancels it."""
    if handle.on_loop():  # plain answers only: no tool calls
        return await awhole(request, handle, stops), []
    state, text, failure = request.app.state, ("", []), None
    async with anyio.create_task_group() as group:
        group.start_soon(wait_for_disconnect, request.receive, handle.cancel)
        try:
            text = await state.pools.run("generation", drain, filtered_deltas(handle, stops))
        except Exception as exc:
            failure = exc
        group.cancel_scope.cancel()
    if failure is not None:
        raise to_api_error(failure) from None
    return text


async def chat(request: Request, body) -> JSONResponse | CancellingStream:
    """Answer one chat completion request."""
    state = request.app.state
    messages = body.engine_messages()
    handle = await open_stream(state, messages, body.model, {**_sampling(body), **session_key(request)},
                               body.client_fields())
    if handle.proxy is not None:
        headers = lambda h: {**route_headers(h.reason), **gateway_headers(h)}
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return await proxy_path.stream(request, handle, include_usage, headers)
        return await proxy_path.whole(request, handle, headers)
    n = getattr(body, "n", None) or 1
    whole_only = "n" if n > 1 else ("logprobs" if getattr(body, "logprobs", None) else None)
    if whole_only and body.stream:
        stop_stream(handle)
        raise ApiError(400, f"model {handle.model!r} gives {whole_only} only with whole answers, not streamed",
                       whole_only, "unsupported_parameter")
    if body.stream:
        return await _stream(request, handle, body, "chat")
    first, choices = handle, [await _chat_choice(request, handle, body)]
    again = handle.model if handle.model in state.engine.registry else body.model  # the same model
    for _ in range(n - 1):  # a local model's n choices: asked n times (an upstream gets `n` itself)
        more = await open_stream(state, messages, again, _sampling(body), body.client_fields())
        choices.append(await _chat_choice(request, more, body))
        first.add_completion_tokens(more.usage.completion_tokens)
    listed = [{"index": i, "message": m, "logprobs": lp, "finish_reason": f} for i, (m, f, lp) in enumerate(choices)]
    return _whole(first.model, first.reason, {}, "", first.usage, "chat", gateway_headers(first), listed)


async def _chat_choice(request: Request, handle, body) -> tuple[dict, str, dict | None]:
    """(message, finish_reason, logprobs) of one whole answer."""
    try:
        text, calls = await _collect(request, handle, body.stop_list())
    finally:
        stop_stream(handle)  # a no-op once finished; releases the model if we failed midway
    message = {"role": "assistant", "content": text or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    finish = "tool_calls" if calls and handle.finish_reason in ("stop", "tool_calls") else handle.finish_reason
    logprobs = {"content": handle.logprobs, "refusal": None} if getattr(body, "logprobs", None) \
        and handle.logprobs is not None else None
    return message, finish, logprobs


def _whole(model: str, reason: str, message: dict, finish: str, usage, kind: str,
           extra_headers: dict | None = None, choices: list[dict] | None = None) -> JSONResponse:
    """A whole (non-streamed) chat.completion or text_completion (`choices`: several, made)."""
    if kind == "text":
        obj, choice = "text_completion", {"index": 0, "text": message["content"], "logprobs": None,
                                          "finish_reason": finish}
    else:
        obj, choice = "chat.completion", {"index": 0, "message": message, "logprobs": None,
                                          "finish_reason": finish}
    payload = {"id": new_id("cmpl" if kind == "text" else "chatcmpl"), "object": obj,
               "created": int(time.time()), "model": model, "choices": choices or [choice],
               "usage": usage_dict(usage), "system_fingerprint": None}
    return JSONResponse(payload, headers={**route_headers(reason), **(extra_headers or {})})


async def _stream(request: Request, handle, body, kind: str) -> CancellingStream:
    """SSE for a handle; the first piece is computed before the 200 goes out, so a model
    that fails to load is still answered with its proper status."""
    pools = request.app.state.pools
    on_loop = handle.on_loop()
    iterator = afiltered(handle, body.stop_list()) if on_loop \
        else filtered_deltas(handle, body.stop_list())
    try:
        first = await anext(iterator, _END) if on_loop else await next_piece(pools, iterator)
    except BaseException as exc:  # a failure, or the client leaving before the first piece
        closing = stop_stream(handle, iterator)
        if closing is not None:
            with anyio.CancelScope(shield=True):
                await closing
        if isinstance(exc, Exception):
            raise to_api_error(exc) from None
        raise
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    rest = iterator if on_loop else pieces(pools, iterator)
    events = _events(handle, first, rest, kind, include_usage)
    return CancellingStream(events, on_close=lambda: stop_stream(handle, iterator),
                            headers={**route_headers(handle.reason), **gateway_headers(handle)})


async def _events(handle, first, rest, kind: str, include_usage: bool):
    """The SSE events of one stream, ending with [DONE] (an error mid-stream is an event)."""
    base = stream_base(handle.model, kind)
    if kind == "chat":
        yield sse(chunk(base, {"role": "assistant", "content": ""}))
    try:
        if first is not _END:
            yield sse(_delta_chunk(base, first, kind))
            async for piece in rest:
                yield sse(_delta_chunk(base, piece, kind))
    except Exception as exc:
        err = to_api_error(exc)
        yield sse(error_body(err.status, err.message, err.param, err.code))
        yield sse("[DONE]")
        return
    yield sse(chunk(base, {} if kind == "chat" else {"content": ""}, handle.finish_reason, kind))
    if include_usage:
        yield sse({**base, "choices": [], "usage": usage_dict(handle.usage)})
    yield sse("[DONE]")


def _delta_chunk(base: dict, piece, kind: str) -> dict:
    """A text piece, or a tool-call delta (a dict) as OpenAI streams it."""
    if isinstance(piece, dict):
        return chunk(base, {"tool_calls": [piece]}, kind=kind)
    return chunk(base, {"content": piece}, kind=kind)


async def complete(request: Request, body) -> JSONResponse | CancellingStream:
    """Answer one text completion: the prompt goes to the model as a single user turn."""
    state = request.app.state
    sampling = _sampling(body)
    messages = [{"role": "user", "content": body.prompt}]
    handle = await open_stream(state, messages, body.model, sampling)
    if body.stream:
        return await _stream(request, handle, body, "text")
    try:
        text, _ = await _collect(request, handle, body.stop_list())
    finally:
        stop_stream(handle)
    return _whole(handle.model, handle.reason, {"content": text}, handle.finish_reason,
                  handle.usage, "text", gateway_headers(handle))

