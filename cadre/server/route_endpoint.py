"""POST /v1/route, answered in raw ASGI.

A routing decision is the cheapest request the server answers: with the nano router the
model costs ~0.1 ms a text in a batch, while FastAPI's routing, dependency solving and
body streaming cost several times that per request (benchmarks/hot_path_profile.py). So
this layer answers it directly. It sits innermost among cadre's middlewares, so the
admission limit, key check, size and time limits on the body, metrics and traffic log
apply to it exactly as to every other endpoint; only FastAPI's own layers are skipped.
"""
from __future__ import annotations

import json

from starlette.exceptions import HTTPException

from cadre.server.dashboard.traffic import note_route
from cadre.server.errors import HTTP_CODES, ApiError, error_body, to_api_error
from cadre.server.generation import route_headers
from cadre.server.jsonbody import validate
from cadre.server.redact import redact
from cadre.server.schemas import RouteRequest

ROUTE_PATH = "/v1/route"


class ClientGone(Exception):
    """The client disconnected before its body arrived."""


class RouteEndpoint:
    """Answers POST /v1/route; every other request goes on to `app`."""

    def __init__(self, app, state):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != ROUTE_PATH:
            return await self.app(scope, receive, send)
        status, headers = 200, {}
        try:
            if scope["method"] != "POST":
                raise ApiError(405, "Method Not Allowed", None, "method_not_allowed", {"allow": "POST"})
            payload, headers = await self.decide(validate(await read_body(receive), RouteRequest))
        except ClientGone:
            return
        except ApiError as exc:
            status, headers = exc.status, exc.headers
            payload = error_body(exc.status, exc.message, exc.param, exc.code)
        except HTTPException as exc:  # the guard's 408 or 413 while the body was read
            status, headers = exc.status_code, dict(exc.headers or {})
            payload = error_body(status, str(exc.detail), None, HTTP_CODES.get(status))
        await send_json(send, status, payload, headers)

    async def decide(self, body: RouteRequest) -> tuple[dict, dict[str, str]]:
        """The decision as the response's JSON and headers; counted and logged."""
        state = self.state
        try:
            choice = await state.route_batcher.route(body.text(), body.model)
        except Exception as exc:
            raise to_api_error(exc) from None
        state.metrics.decided(state.labels.route(choice.name), state.labels.requested(body.model))
        note_route(choice, body.model)
        payload = {"object": "route", "route": choice.name, "score": float(choice.score),
                   "scores": {k: float(v) for k, v in choice.scores.items()}, "reason": redact(choice.reason)}
        return payload, route_headers(choice.reason)


async def read_body(receive) -> bytes:
    """The whole request body (the guard's receive enforces its size and deadline)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_json(send, status: int, payload: dict, headers: dict[str, str]) -> None:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
