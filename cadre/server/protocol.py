"""uvicorn's HTTP protocols with the two guards they lack: a deadline for the request
line and headers (slowloris: a client that sends half a request line or drips headers
would hold its connection forever), and a cap on open connections.

Both answer in OpenAI's error JSON and close the connection, as does a request the
parser rejects (uvicorn's own answer is plain text). The body has its own
deadline in `GuardMiddleware` (a lying Content-Length), where the app can answer 408.
The httptools parser (C) is the default: per request it costs a fraction of h11's pure
Python parsing, which was a fifth of the event loop's time at 64 clients.
"""
from __future__ import annotations

import asyncio
import logging
import os

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cadre.server.errors import error_bytes

log = logging.getLogger("cadre.server")
HEADER_TIMEOUT_ENV = "CADRE_HEADER_TIMEOUT"
MAX_CONNECTIONS_ENV = "CADRE_MAX_CONNECTIONS"
WORKER_PROTOCOL = "cadre.server.protocol:WorkerProtocol"


def raw_error(status: int, reason: str, message: str, code: str) -> bytes:
    """A whole HTTP/1.1 error response that closes the connection."""
    body = error_bytes(status, message, code)
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("latin-1") + body


class _Guards:
    """The connection cap and the header deadline, for either parser. A subclass says
    whether a request's headers are still awaited (`_awaiting_headers`)."""

    header_timeout: float = 10.0
    max_connections: int = 256

    def _refused(self, transport: asyncio.Transport) -> bool:
        self._header_timer: asyncio.TimerHandle | None = None
        if len(self.connections) < self.max_connections:
            return False
        log.warning("refused a connection: %d open (--max-connections)", len(self.connections))
        transport.write(raw_error(503, "Service Unavailable", "the server has too many open "
                                  "connections; retry later", "too_many_connections"))
        transport.close()
        return True

    def send_400_response(self, msg: str) -> None:
        """uvicorn answers a request its parser rejects (a malformed request line or
        headers, or a request target past httptools' 64 KB) in plain text; this is the
        same 400 in OpenAI's error JSON."""
        log.info("refused a request the HTTP parser rejected")
        self.transport.write(raw_error(400, "Bad Request", "the request line or headers could not be parsed: "
                                       "malformed, or too long (a request target or header of 64 KB or more)",
                                       "invalid_request"))
        self.transport.close()

    def _arm_header_timer(self) -> None:
        if getattr(self, "_header_timer", None) is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._awaiting_headers():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a response is still being written on this connection
        log.info("closed a connection whose request headers took over %.0f s", self.header_timeout)
        self.transport.write(raw_error(408, "Request Timeout", "request headers took longer than "
                                       f"{self.header_timeout:g} s", "request_timeout"))
        self.transport.close()


class GuardedHttpToolsProtocol(_Guards, HttpToolsProtocol):
    """Set `header_timeout` (seconds) and `max_connections` on a subclass (see `guarded_protocol`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._headers_pending = True
        if self._refused(transport):
            return
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "transport", None) is None:
            return  # refused in connection_made: never registered
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._headers_pending:
            self._arm_header_timer()  # bytes of a new request: its headers have a deadline
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._headers_pending = False
        self._cancel_header_timer()  # the request line and headers are complete
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._headers_pending = True  # the next bytes on this connection start a new request

    def _awaiting_headers(self) -> bool:
        return self._headers_pending


class GuardedH11Protocol(_Guards, H11Protocol):
    """The same guards on uvicorn's pure-Python h11 parser (`guarded_protocol(..., parser="h11")`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if self._refused(transport):
            return
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:
            return  # refused in connection_made: never registered
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm_header_timer()  # bytes of a new request: its headers have a deadline
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._cancel_header_timer()  # the request line and headers are complete

    def _awaiting_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE


PARSERS = {"httptools": GuardedHttpToolsProtocol, "h11": GuardedH11Protocol}


def guarded_protocol(header_timeout: float, max_connections: int, parser: str = "httptools") -> type:
    """A protocol class for `uvicorn.Config(http=...)` with these limits."""
    return type("CadreProtocol", (PARSERS[parser],),
                {"header_timeout": float(header_timeout), "max_connections": int(max_connections)})


def guard_workers(header_timeout: float, max_connections: int) -> str:
    """`cadre serve --workers N`: uvicorn imports each worker's protocol by name, so the
    limits travel in the environment the workers inherit. Returns the protocol's name."""
    os.environ[HEADER_TIMEOUT_ENV] = str(float(header_timeout))
    os.environ[MAX_CONNECTIONS_ENV] = str(int(max_connections))
    return WORKER_PROTOCOL


class WorkerProtocol(GuardedHttpToolsProtocol):
    """The guarded protocol of one worker process, with the limits its parent set."""

    header_timeout = float(os.environ.get(HEADER_TIMEOUT_ENV, _Guards.header_timeout))
    max_connections = int(os.environ.get(MAX_CONNECTIONS_ENV, _Guards.max_connections))
