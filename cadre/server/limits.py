"""Worker-thread pools of one app. The engine is synchronous, so every call into it
runs in a thread; routing and generation get separate pools so that requests waiting
for a busy model never starve `/v1/route`.

The per-model queue itself is the model manager's (runtime.max_concurrent running +
runtime.max_queue waiting per model, then Overloaded → 429): the generation pool is
sized so that it fills only after every model's queue is full, so a request is
refused with 429 rather than parked behind a thread pool with no bound.
"""
from __future__ import annotations

from functools import partial

import anyio
from anyio import to_thread


def generation_threads(engine, spare: int = 8, per_remote: int = 64) -> int:
    """Threads that every local model's running + waiting requests could occupy at once,
    and `per_remote` for each remote upstream (its answers are awaited on the loop; a
    thread only plans them or streams a threaded answer)."""
    runtime = getattr(getattr(engine, "config", None), "runtime", None)
    per_model = (runtime.max_concurrent + runtime.max_queue) if runtime else 36
    slots = getattr(getattr(engine, "manager", None), "slots", {})
    remote = sum(1 for s in slots.values() if getattr(s, "http", False))
    return (len(engine.model_names()) - remote) * per_model + remote * per_remote + spare


class ThreadPools:
    """Two capacity limiters, created lazily inside the running event loop."""

    def __init__(self, route_threads: int, generation_threads: int):
        self.sizes = {"route": route_threads, "generation": generation_threads}
        self._limiters: dict[str, anyio.CapacityLimiter] = {}

    def limiter(self, kind: str) -> anyio.CapacityLimiter:
        """The limiter of one pool ('route' or 'generation')."""
        if kind not in self._limiters:
            self._limiters[kind] = anyio.CapacityLimiter(self.sizes[kind])
        return self._limiters[kind]

    async def run(self, kind: str, fn, *args, **kwargs):
        """Run `fn(*args, **kwargs)` in a worker thread of pool `kind`."""
        return await to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self.limiter(kind))
