"""Raw ASGI middleware in front of every endpoint: API keys and the request-size limit.

Plain ASGI (not BaseHTTPMiddleware) so that streaming responses and client
disconnects pass through untouched.
"""
from __future__ import annotations

import hmac

import anyio

from starlette.exceptions import HTTPException

from cadre.server.dashboard import is_page_path
from cadre.server.errors import error_bytes

OPEN_PATHS = frozenset({"/health"})


class BodyTooLarge(HTTPException):
    """Raised while reading a body that grew past the limit (FastAPI re-raises HTTPException)."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body is larger than the limit of {limit} bytes")


def header(scope, name: bytes) -> str | None:
    """One request header, decoded as latin-1, or None."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def send_error(send, status: int, message: str, code: str, extra: list | None = None) -> None:
    """Send an OpenAI error JSON straight from middleware."""
    body = error_bytes(status, message, code)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


def key_ok(scope, keys: tuple[str, ...]) -> bool:
    """True when the request carries one of the keys as `Authorization: Bearer <key>`."""
    auth = header(scope, b"authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return any(hmac.compare_digest(token.strip().encode(), k.encode()) for k in keys)


class BodyTooSlow(HTTPException):
    """Raised when a request body does not arrive within its deadline (a lying Content-Length)."""

    def __init__(self, seconds: float):
        super().__init__(408, f"request body did not arrive within {seconds:g} s",
                         headers={"connection": "close"})


class GuardMiddleware:
    """401 without a valid key (when keys are set); 413 for a body over `max_bytes`; 408 for
    a body that takes longer than `body_timeout` seconds to arrive."""

    def __init__(self, app, api_keys: tuple[str, ...] = (), max_bytes: int = 1 << 20,
                 body_timeout: float = 30.0):
        self.app, self.api_keys, self.max_bytes = app, tuple(api_keys), max_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # The dashboard's pages hold no data (their script calls the guarded API), so a
        # browser without the key can load the page that asks for it.
        open_path = scope["path"] in OPEN_PATHS or scope["method"] == "OPTIONS" or is_page_path(scope["path"])
        if self.api_keys and not open_path and not key_ok(scope, self.api_keys):
            return await send_error(send, 401, "missing or invalid API key "
                                    "(send `Authorization: Bearer <key>`)", "invalid_api_key",
                                    [(b"www-authenticate", b"Bearer")])
        length = header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await send_error(send, 413, f"request body is larger than the limit of "
                                    f"{self.max_bytes} bytes", "request_too_large")
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive):
        """Wrap `receive` so a chunked body cannot grow past the limit either, and the
        whole body must arrive before its deadline (waiting for a disconnect afterwards
        has none)."""
        seen, deadline, done = 0, None, False

        async def counted():
            nonlocal seen, deadline, done
            if done:
                return await receive()
            deadline = deadline or (anyio.current_time() + self.body_timeout)
            with anyio.move_on_after(max(deadline - anyio.current_time(), 0)) as scope:
                message = await receive()
            if scope.cancelled_caught:
                raise BodyTooSlow(self.body_timeout)
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
                done = not message.get("more_body", False)
            else:
                done = True
            return message
        return counted
