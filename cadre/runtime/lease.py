"""What one answer holds: the model it was admitted to, released once however the answer
ends (read to the end, failed, cancelled, or dropped unread), then its record written once.

A fallback to the primary releases the specialist first, then holds the primary (`swap`).
Releasing may restore a displaced pinned model, which loads it: on the event loop that runs
in a worker thread (`arelease`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable


class Lease:
    """The plan being answered, its model's slot, and the answer's closing record."""

    def __init__(self, plan, manager, on_finish: Callable[[], None] = lambda: None):
        self.plan, self.manager, self.on_finish = plan, manager, on_finish
        self._lock = threading.Lock()
        self._released = self._finished = False

    def release(self) -> None:
        """Give the current model back (once)."""
        with self._lock:
            if self._released or self.plan.prepared is None:
                return
            self._released = True
        self.plan.prepared.release()
        self.manager.restore_pinned()

    def swap(self, plan) -> None:
        """Another plan answers now (the fallback); the old model must be released already."""
        self.release()
        with self._lock:
            self.plan, self._released = plan, False

    def finish(self) -> None:
        """Release, then write the answer's record (once)."""
        self.release()
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self.on_finish()

    async def arelease(self) -> None:
        await self._off_loop(self.release)

    async def afinish(self) -> None:
        await self._off_loop(self.finish)

    async def _off_loop(self, fn) -> None:
        import anyio

        if any(slot.displaced for slot in self.manager.slots.values()):
            with anyio.CancelScope(shield=True):  # runs even when the request was cancelled
                await anyio.to_thread.run_sync(fn)
        else:
            fn()

    def __call__(self) -> None:
        """A weakref finalizer: an answer dropped unread still gives its model back."""
        self.finish()
