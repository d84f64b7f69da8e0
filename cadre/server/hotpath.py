"""The outermost raw ASGI middleware: admission and the overhead header.

- Admission: at most `max_in_flight` requests are answered at once; the next one is
  refused at once with 429 and `Retry-After` instead of queueing without bound in front
  of the thread pools (per-model queues are the manager's; this bounds the whole server).
- `x-cadre-overhead-ms` on every response: the milliseconds from the request's arrival to
  its first response byte that were not spent waiting on a model (see
  cadre/runtime/timing.py), like LiteLLM's `x-litellm-overhead-duration-ms`. Loading a
  model is not overhead: `x-cadre-load-ms` reports it (present when a load happened).
"""
from __future__ import annotations

import time

from cadre.runtime import timing
from cadre.server.middleware import send_error

OVERHEAD_HEADER = b"x-cadre-overhead-ms"
LOAD_HEADER = b"x-cadre-load-ms"
EXEMPT = frozenset({"/health", "/metrics"})  # liveness and scrapes answer even when full


class InFlight:
    """The number of requests this process is answering (shared with the endpoints)."""

    def __init__(self):
        self.count = 0

    def alone(self) -> bool:
        """True when the calling request is the only one: work inline blocks nobody."""
        return self.count <= 1


class HotPathMiddleware:
    """Admission control and the overhead header, in one cheap layer."""

    def __init__(self, app, max_in_flight: int = 512, retry_after_s: int = 1, counter: InFlight | None = None):
        self.app, self.max_in_flight = app, max_in_flight
        self.retry_after = str(retry_after_s).encode()
        self.counter = counter or InFlight()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_timing = timing.begin()
        counter = self.counter
        if counter.count >= self.max_in_flight and scope["path"] not in EXEMPT:
            return await send_error(send, 429, f"the server is answering {counter.count} requests, "
                                    f"its limit; retry later", "server_overloaded",
                                    [(b"retry-after", self.retry_after), _overhead(request_timing)])

        async def timed_send(message):
            if message["type"] == "http.response.start":
                extra = [_overhead(request_timing)]
                if request_timing.load_s:
                    extra.append((LOAD_HEADER, b"%.3f" % (request_timing.load_s * 1000)))
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        counter.count += 1
        try:
            await self.app(scope, receive, timed_send)
        finally:
            counter.count -= 1


def _overhead(request_timing) -> tuple[bytes, bytes]:
    return OVERHEAD_HEADER, b"%.3f" % request_timing.overhead_ms(time.perf_counter())
