"""Concurrent /v1/route requests share one router call, and each still gets the answer it
would get alone: the real nano router behind a live uvicorn server, called over HTTP."""
from __future__ import annotations

import asyncio
import re
import threading
import time

import httpx

from cadre.server.route_batch import RouteBatcher
from cadre.server.limits import ThreadPools

TEXTS = ["write a python function to sort a list", "what is 12 times 7", "translate hello into french",
         "summarize this article about the sea", "how are you today", "fix this bug in my rust code",
         "solve the equation x + 3 = 5", "say good morning in spanish"]


def test_concurrent_route_requests_decide_as_single_ones(serve_engine, live_server):
    from cadre.server.app import create_app
    from cadre.server.settings import ServerSettings

    srv = live_server(create_app(serve_engine, ServerSettings()))
    alone = {t: _decision(httpx.post(srv.base + "/v1/route", json={"input": t}, timeout=30)) for t in TEXTS}
    before = _batch_counts(srv.base)

    async def many():
        async with httpx.AsyncClient(base_url=srv.base, timeout=60,
                                     limits=httpx.Limits(max_connections=48)) as client:
            return await asyncio.gather(*(client.post("/v1/route", json={"input": TEXTS[i % len(TEXTS)]})
                                          for i in range(48)))

    responses = asyncio.run(many())
    for i, response in enumerate(responses):
        assert _decision(response) == alone[TEXTS[i % len(TEXTS)]]
    count, total = (a - b for a, b in zip(_batch_counts(srv.base), before))
    assert total == 48 and 1 <= count <= 48  # every request went through a batch, none twice


def test_requests_that_arrive_while_one_is_scored_wait_and_share_the_next_call():
    engine = SlowEngine()
    batcher = RouteBatcher(engine, ThreadPools(2, 2))

    async def run():
        first = asyncio.ensure_future(batcher.route("a", "auto"))
        await asyncio.sleep(0.05)  # "a" is being scored (0.2 s)
        rest = [batcher.route(t, m) for t, m in (("b", "auto"), ("c", "auto"), ("d", "bad"))]
        return await asyncio.gather(first, *rest, return_exceptions=True)

    a, b, c, d = asyncio.run(run())
    assert (a, b, c) == ("auto:a", "auto:b", "auto:c")
    assert isinstance(d, ValueError) and "bad" in str(d)  # one request's error stays its own
    # "a" alone; then one call for the two auto texts, and "bad" on its own
    assert engine.batches[0] == ["a"] and sorted(map(tuple, engine.batches[1:])) == [("b", "c"), ("d",)]


def test_quick_batches_are_scored_on_the_loop_and_slow_ones_in_the_pool():
    quick, slow = ThreadEngine(0.0), ThreadEngine(0.05)

    async def run(engine):
        batcher = RouteBatcher(engine, ThreadPools(2, 2))
        for text in "abc":
            assert await batcher.route(text, "auto") == f"auto:{text}"
        return threading.get_ident()

    loop_thread = asyncio.run(run(quick))
    assert quick.threads[0] != loop_thread and set(quick.threads[1:]) == {loop_thread}  # the first is timed in the pool
    loop_thread = asyncio.run(run(slow))
    assert loop_thread not in slow.threads


class ThreadEngine:
    """Routes after `delay` seconds, remembering which thread scored each batch."""

    def __init__(self, delay: float):
        self.delay, self.threads = delay, []

    def route_batch(self, texts, model="auto"):
        self.threads.append(threading.get_ident())
        time.sleep(self.delay)
        return [f"{model}:{t}" for t in texts]

    def route(self, text, model="auto"):
        return self.route_batch([text], model)[0]


class SlowEngine:
    """Routes after 0.2 s; model "bad" fails."""

    def __init__(self):
        self.batches, self.lock = [], threading.Lock()

    def route_batch(self, texts, model="auto"):
        with self.lock:
            self.batches.append(list(texts))
        time.sleep(0.2)
        if model == "bad":
            raise ValueError(f"unknown model {model!r}")
        return [f"{model}:{t}" for t in texts]

    def route(self, text, model="auto"):
        return self.route_batch([text], model)[0]


def _decision(response) -> tuple:
    assert response.status_code == 200, response.text
    body = response.json()
    return body["route"], round(body["score"], 4), body["reason"]


def _batch_counts(base: str) -> tuple[float, float]:
    text = httpx.get(base + "/metrics", timeout=10).text
    count = float(re.search(r"^cadre_route_batch_size_count (\S+)$", text, re.M)[1])
    total = float(re.search(r"^cadre_route_batch_size_sum (\S+)$", text, re.M)[1])
    return count, total
