"""POST /v1/responses: OpenAI's Responses API in front of the same engine as chat.

A request is routed exactly as a chat request is (`model="auto"` included; its `input`
and `instructions` become the conversation the router and the sticky table see). An
upstream whose backend says `api: responses` gets the request as it came, on its own
/v1/responses; every other model answers through Chat Completions, translated both ways
(responses_translate.py). `previous_response_id` continues a conversation this server
answered, from a bounded in-memory store; streams send the Responses event types.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cadre.errors import CadreError
from cadre.server import generation
from cadre.server.errors import ApiError, to_api_error
from cadre.server.jsonbody import read_object
from cadre.server.responses_stream import EventWriter, local_pieces, proxy_pieces
from cadre.server.responses_translate import (
    chat_request,
    input_items,
    new_id,
    output_items,
    output_messages,
    response_object,
)
from cadre.server.streaming import _END, CancellingStream, cancellable, stop_stream

routes = APIRouter()
STORE_SIZE = 1024  # conversations kept for previous_response_id (least recently used out)


class ResponseStore:
    """Response id → the conversation up to and including that response (chat messages)."""

    def __init__(self, size: int = STORE_SIZE):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def put(self, response_id: str, messages: list[dict]) -> None:
        with self.lock:
            self.items[response_id] = messages
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def get(self, response_id: str) -> list[dict] | None:
        with self.lock:
            found = self.items.get(response_id)
            if found is not None:
                self.items.move_to_end(response_id)
            return found


def _store(state) -> ResponseStore:
    if not hasattr(state, "responses"):
        state.responses = ResponseStore()
    return state.responses


def _headers(handle) -> dict:
    return {**generation.route_headers(handle.reason), **generation.gateway_headers(handle)}


def _checked(body: dict) -> dict:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ApiError(400, "model: a model name is required (auto routes)", "model", "invalid_value")
    if body.get("input") is None and not body.get("previous_response_id"):
        raise ApiError(400, "input: required", "input", "invalid_value")
    if not isinstance(body.get("stream", False), bool):
        raise ApiError(400, "stream: must be a boolean", "stream", "invalid_value")
    return body


@routes.post("/v1/responses")
async def create_response(request: Request):
    """Create a response, whole or streamed."""
    state = request.app.state
    body = _checked(await read_object(request))
    store = _store(state)
    history: list[dict] = []
    if body.get("previous_response_id"):
        history = store.get(body["previous_response_id"])
        if history is None:
            raise ApiError(404, f"previous response {body['previous_response_id']!r} not found (cadre keeps the "
                           f"last {store.size})", "previous_response_id", "not_found")
    try:
        messages, sampling, fields = chat_request(body, history)
    except CadreError as exc:
        raise to_api_error(exc) from None
    handle = await generation.open_stream(state, messages, body["model"],
                                          {**sampling, **generation.session_key(request)}, fields)
    turn = Turn(store, new_id("resp"), body, messages[1:] if body.get("instructions") else messages)
    if handle.proxy is not None and handle.proxy.native_responses:
        return await _native(request, handle, turn)
    if body.get("stream"):
        return await _stream(request, handle, turn)
    return await _whole(request, handle, turn)


class Turn:
    """One response being made: its id, the request, and the conversation to store."""

    def __init__(self, store: ResponseStore, response_id: str, body: dict, conversation: list[dict]):
        self.store, self.id, self.body, self.conversation = store, response_id, body, conversation

    def finish(self, model: str, output: list[dict], usage, finish: str, status: str | None = None) -> dict:
        self.store.put(self.id, [*self.conversation, *output_messages(output)])
        return response_object(self.id, self.body, model, output, usage, finish, status)


async def _whole(request: Request, handle, turn: Turn) -> JSONResponse:
    if handle.proxy is not None:
        data = await cancellable(request, handle, handle.proxy.whole)
        message = (data["choices"][0] or {}).get("message") or {}
        text, calls = message.get("content") or "", message.get("tool_calls") or []
    else:
        try:
            text, calls = await generation._collect(request, handle, [])
        finally:
            stop_stream(handle)
    obj = turn.finish(handle.model, output_items(text, calls), handle.usage, handle.finish_reason)
    return JSONResponse(obj, headers=_headers(handle))


async def _stream(request: Request, handle, turn: Turn) -> CancellingStream:
    """Responses events; the first piece comes before the 200 (a failing model gets its status)."""
    pools = request.app.state.pools
    if handle.proxy is not None:
        source, iterator = proxy_pieces(handle.proxy.chunks()), None
    else:
        source, iterator = local_pieces(pools, handle)
    try:
        first = await anext(source, _END)
    except Exception as exc:
        await source.aclose()
        stop_stream(handle)
        raise to_api_error(exc) from None
    writer = EventWriter(turn, handle)

    def close():
        handle.cancel()
        stop_stream(handle, iterator)
        return source.aclose()
    return CancellingStream(writer.events(first, source), on_close=close, headers=_headers(handle))


async def _native(request: Request, handle, turn: Turn):
    """An upstream that speaks /v1/responses gets the request as it came."""
    body = {k: v for k, v in turn.body.items() if k not in ("model", "stream")}
    if body.get("previous_response_id"):  # a conversation cadre stored: the upstream gets it whole
        history = turn.store.get(body.pop("previous_response_id")) or []
        current = body.get("input")
        body["input"] = input_items(history) + (
            [{"type": "message", "role": "user", "content": current}] if isinstance(current, str) else current or [])
    if not turn.body.get("stream"):
        data = await cancellable(request, handle, lambda: handle.proxy.responses_whole(body))
        data["model"] = handle.model
        turn.store.put(data.get("id") or turn.id, [*turn.conversation, *output_messages(data.get("output") or [])])
        return JSONResponse(data, headers=_headers(handle))
    events = handle.proxy.responses_events(body)
    try:
        first = await anext(events, None)
    except Exception as exc:
        await events.aclose()
        raise to_api_error(exc) from None

    async def relay():
        event = first
        try:
            while event is not None:
                if isinstance(event.get("response"), dict):
                    event["response"]["model"] = handle.model
                    if event.get("type") == "response.completed":
                        response = event["response"]
                        turn.store.put(response.get("id") or turn.id,
                                       [*turn.conversation, *output_messages(response.get("output") or [])])
                yield f"event: {event.get('type', 'message')}\ndata: {json.dumps(event)}\n\n"
                event = await anext(events, None)
        except Exception as exc:
            err = to_api_error(exc)
            yield f"event: error\ndata: {json.dumps({'type': 'error', 'code': err.code, 'message': err.message, 'param': err.param})}\n\n"

    def close():
        handle.cancel()
        return events.aclose()
    return CancellingStream(relay(), on_close=close, headers=_headers(handle))
