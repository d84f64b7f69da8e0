"""A bounded queue per model: at most `size` requests admitted (running or waiting) for
one model at a time; the next one is refused at once with Overloaded (→ 429 +
Retry-After) instead of piling up threads and memory.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from cadre.runtime.errors import Overloaded


class ModelQueues:
    """Per-model admission counters, safe across threads."""

    def __init__(self, size: int = 8, retry_after: float = 1.0):
        if size < 1:
            raise ValueError("queue size must be at least 1")
        self.size, self.retry_after = size, retry_after
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, model: str) -> None:
        """Admit one request for `model`, or raise Overloaded when its queue is full."""
        with self._lock:
            count = self._counts.get(model, 0)
            if count >= self.size:
                raise Overloaded(f"model {model!r} has {count} requests queued (limit {self.size}); "
                                 f"retry later", retry_after=self.retry_after)
            self._counts[model] = count + 1

    def leave(self, model: str) -> None:
        """Release one admitted request for `model`."""
        with self._lock:
            count = self._counts.get(model, 0) - 1
            if count > 0:
                self._counts[model] = count
            else:
                self._counts.pop(model, None)

    @contextmanager
    def admit(self, model: str) -> Iterator[None]:
        """Hold one slot of `model`'s queue for the duration of the block."""
        self.enter(model)
        try:
            yield
        finally:
            self.leave(model)

    def depth(self, model: str) -> int:
        """Requests currently admitted for `model`."""
        with self._lock:
            return self._counts.get(model, 0)
