"""Per-request timing of the time spent waiting on models, so the server can report its
own overhead (`x-cadre-overhead-ms`): time to the first response byte minus the time the
request spent inside model calls (an upstream HTTP call or a local generation) and
loading models, which `x-cadre-load-ms` reports on its own.

The server puts a `RequestTiming` in a context variable when a request arrives; context
variables follow the request into worker threads (anyio copies the context) and into the
response's tasks, so the backends mark their calls without knowing about the server.
Outside a request there is no timing and marking costs one lookup.
"""
from __future__ import annotations

import time
from contextvars import ContextVar


class RequestTiming:
    """Start of a request and the model spans inside it (perf_counter seconds)."""

    __slots__ = ("_open", "load_s", "model_s", "start")

    def __init__(self):
        self.start = time.perf_counter()
        self.model_s = 0.0     # closed model spans, summed (fallbacks and tool loops add up)
        self.load_s = 0.0      # time spent loading models for this request
        self._open = None      # (started, last progress) of the span in progress

    def model_started(self) -> None:
        """A model call (HTTP request to an upstream, or a local generation) begins."""
        self._close()
        now = time.perf_counter()
        self._open = (now, now)

    def model_progress(self) -> None:
        """The model produced something (headers, a chunk, the whole answer)."""
        if self._open is not None:
            self._open = (self._open[0], time.perf_counter())

    def model_done(self) -> None:
        """The model call is over: its span counts up to its last progress."""
        self.model_progress()
        self._close()

    def _close(self) -> None:
        if self._open is not None:
            started, last = self._open
            self.model_s += last - started
            self._open = None

    def overhead_ms(self, now: float | None = None) -> float:
        """Milliseconds from arrival to `now` not spent waiting on a model (an open span
        counts up to its last progress: the first chunk of a stream)."""
        now = time.perf_counter() if now is None else now
        waiting = self.model_s + self.load_s + ((self._open[1] - self._open[0]) if self._open else 0.0)
        return max(0.0, (now - self.start - waiting) * 1000)


CURRENT: ContextVar[RequestTiming | None] = ContextVar("cadre_request_timing", default=None)


def begin() -> RequestTiming:
    """Start timing the current request (called by the server as it arrives)."""
    timing = RequestTiming()
    CURRENT.set(timing)
    return timing


def model_started() -> None:
    """Mark the start of a model call in the current request, if any."""
    timing = CURRENT.get()
    if timing is not None:
        timing.model_started()


def model_progress() -> None:
    """Mark progress of the current request's model call, if any."""
    timing = CURRENT.get()
    if timing is not None:
        timing.model_progress()


def model_done() -> None:
    """Mark the end of the current request's model call, if any."""
    timing = CURRENT.get()
    if timing is not None:
        timing.model_done()


def loaded(seconds: float) -> None:
    """A model load of `seconds` happened for the current request, if any."""
    timing = CURRENT.get()
    if timing is not None:
        timing.load_s += seconds
