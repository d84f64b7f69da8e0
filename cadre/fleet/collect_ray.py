"""`cadre router collect --ray`: the collect stage fanned out over Ray workers.

The calls still to make are split by row into shards, one Ray task each. A shard loads
the models itself and makes its calls on threads, but every call first takes a slot from
one limiter actor, so each model endpoint keeps its own concurrency bound (--concurrency)
across all shards together. Results stream back to the driver as they finish and go
through the same journal as a single-process run: an interrupted run resumes from it (the
rest is sharded again), and the table is assembled in input order, identical to one made
by a single process from the same inputs.
"""
from __future__ import annotations

import asyncio
from typing import Iterator

from cadre.collect.collector import CollectSettings, answer_one, local_calls, make_judge


class EndpointLimiter:
    """A semaphore per model, shared by every shard (a Ray async actor); it also keeps
    the highest number of calls it saw at once, so the bound can be checked."""

    def __init__(self, bounds: dict[str, int]):
        self.bounds = bounds
        self.sems: dict[str, asyncio.Semaphore] = {}
        self.busy = {m: 0 for m in bounds}
        self.peak = {m: 0 for m in bounds}

    async def acquire(self, model: str) -> None:
        """Wait for a free slot of `model`."""
        sem = self.sems.setdefault(model, asyncio.Semaphore(self.bounds[model]))
        await sem.acquire()
        self.busy[model] += 1
        self.peak[model] = max(self.peak[model], self.busy[model])

    async def release(self, model: str) -> None:
        """Give a slot of `model` back."""
        self.busy[model] -= 1
        self.sems[model].release()

    async def peaks(self) -> dict[str, int]:
        """The most calls each model had at once."""
        return dict(self.peak)


def collect_shard(config, tasks: list, prices: dict, settings: CollectSettings, limiter) -> Iterator[dict]:
    """One shard's calls (a Ray streaming task): yields each result as it finishes."""
    import ray

    from cadre.runtime.manager import ModelManager
    from cadre.runtime.registry import Registry

    manager = ModelManager.from_config(config, Registry.from_config(config))

    def bounded(manager, judge, q, model, price, s):
        ray.get(limiter.acquire.remote(model))
        try:
            return answer_one(manager, judge, q, model, price, s)
        finally:
            ray.get(limiter.release.remote(model))

    try:
        judge = make_judge(settings.judge, manager, settings.judge_max_tokens)
        yield from local_calls(tasks, manager, judge, prices, settings, answer=bounded)
    finally:
        manager.close()


def shard(tasks: list, count: int) -> list[list]:
    """Split calls by row (all of a row's models in one shard), round robin, no empty shards."""
    rows: dict[str, list] = {}
    for task in tasks:
        rows.setdefault(task[0].row_id, []).append(task)
    shards: list[list] = [[] for _ in range(max(1, min(count, len(rows))))]
    for i, row_tasks in enumerate(rows.values()):
        shards[i % len(shards)].extend(row_tasks)
    return [s for s in shards if s]


class RayCalls:
    """A CallRunner for `collect(..., calls=RayCalls(...))`."""

    def __init__(self, config, address: str | None = None, shards: int | None = None, num_cpus: int | None = None):
        self.config, self.address, self.shards, self.num_cpus = config, address, shards, num_cpus
        self.peaks: dict[str, int] = {}
        self.used_shards = 0

    def __call__(self, tasks: list, prices: dict, settings: CollectSettings) -> Iterator[dict]:
        from cadre.fleet.cluster import connect

        if not tasks:
            return
        with connect(self.address, self.num_cpus):
            import ray

            models = sorted({m for _, m in tasks})
            limiter = ray.remote(EndpointLimiter).remote({m: settings.concurrency for m in models})
            count = self.shards or max(1, int(ray.cluster_resources().get("CPU", 1)))
            parts = shard(tasks, count)
            self.used_shards = len(parts)
            remote = ray.remote(collect_shard).options(num_returns="streaming", num_cpus=1, max_retries=0)
            active = [remote.remote(self.config, part, prices, settings, limiter) for part in parts]
            try:
                yield from _drain(ray, active)
            finally:
                for gen in active:
                    ray.cancel(gen, force=True)
            self.peaks = ray.get(limiter.peaks.remote())


def _drain(ray, active: list) -> Iterator[dict]:
    """Results from several streaming tasks, each as soon as it is ready."""
    while active:
        ready, _ = ray.wait(active, num_returns=1)
        gen = ready[0]
        try:
            yield ray.get(next(gen))
        except StopIteration:
            active.remove(gen)
