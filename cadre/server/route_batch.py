"""Concurrent /v1/route decisions share one scoring call.

One lane scores at a time in the route pool; the requests that arrive meanwhile wait on
the event loop, and the next batch takes them all (up to `max_batch`). A request alone
is scored at once, so one client pays nothing for this; 64 clients pay one router call
and one thread round trip per batch instead of per request (the nano router scores a
batch of 32 in about the time of 3 single calls).

Where a batch is scored follows how long batches take: under `INLINE_BELOW_S` (the nano
router, the keyword rules) on the event loop, since the thread round trip then costs more
than the loop is held; slower ones (MiniLM routers, tens of ms a batch) in the route pool,
so the loop keeps serving. A batch that would load a model or wait for one always goes to
the pool, and so does a batch of long texts (over INLINE_MAX_CHARS in all), whose cost
the recent average does not predict. `--route-inline` scores every batch on the loop.
"""
from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from cadre.runtime.inline import WouldBlock, inline

INLINE_BELOW_S = 0.005  # the longest a batch may hold the event loop
INLINE_MAX_CHARS = 16_384  # a batch with more text goes to the pool: its cost follows its size, not the average


class RouteBatcher:
    """Batches `engine.route` calls made on one event loop."""

    def __init__(self, engine, pools, inline: bool = False, max_batch: int = 64, sizes=None):
        """`sizes`: a histogram observing each batch's size (the metrics' cadre_route_batch_size)."""
        self.engine, self.pools, self.always_inline, self.max_batch = engine, pools, inline, max_batch
        self.sizes = sizes
        self.pending: list[tuple[str, str, asyncio.Future]] = []
        self.running = False
        self.recent_s = float("inf")  # moving average of a batch's scoring time; unknown at first

    async def route(self, text: str, model: str):
        """The engine's choice for one text (its exception when routing fails)."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((text, model, future))
        if not self.running:
            self.running = True
            asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending[:self.max_batch], self.pending[self.max_batch:]
                if self.sizes is not None:
                    self.sizes.observe(len(batch))
                try:
                    results = await self._score([(text, model) for text, model, _ in batch])
                except Exception as exc:  # noqa: BLE001 — the pool itself failed; every waiter hears it
                    results = [exc] * len(batch)
                for (_, _, future), result in zip(batch, results):
                    if future.done():  # the client went away
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.running = False

    async def _score(self, items: list[tuple[str, str]]) -> list:
        """One batch's results, on the loop when batches are quick, else in the route pool."""
        small = sum(len(text) for text, _ in items) <= INLINE_MAX_CHARS
        if self.always_inline or (self.recent_s < INLINE_BELOW_S and small):
            try:
                with inline():
                    return self._timed(items)
            except WouldBlock:
                pass  # a model to load or to wait for: that is the pool's work
        return await self.pools.run("route", self._timed, items)

    def _timed(self, items: list[tuple[str, str]]) -> list:
        started = time.perf_counter()
        results = decide(self.engine, items)
        took = time.perf_counter() - started
        self.recent_s = took if self.recent_s == float("inf") else 0.8 * self.recent_s + 0.2 * took
        return results


def decide(engine, items: list[tuple[str, str]]) -> list:
    """Choices (or exceptions) for (text, model) pairs, one batched call per model name;
    a batch that fails is retried one text at a time so each request gets its own error."""
    by_model: dict[str, list[int]] = defaultdict(list)
    for i, (_, model) in enumerate(items):
        by_model[model].append(i)
    out: list = [None] * len(items)
    for model, indices in by_model.items():
        texts = [items[i][0] for i in indices]
        try:
            choices = engine.route_batch(texts, model=model) if len(texts) > 1 else None
        except WouldBlock:
            raise
        except Exception:  # noqa: BLE001 — fall back to one call per text for per-request errors
            choices = None
        for i, text, k in zip(indices, texts, range(len(texts))):
            out[i] = choices[k] if choices is not None else _one(engine, text, model)
    return out


def _one(engine, text: str, model: str):
    try:
        return engine.route(text, model=model)
    except WouldBlock:
        raise
    except Exception as exc:  # noqa: BLE001 — handed to that request's handler
        return exc
