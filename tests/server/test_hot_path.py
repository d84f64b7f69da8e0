"""The serving hot path end to end: a real `cadre serve` process in front of a real stub
upstream (cadre/server/stub_upstream.py) on 127.0.0.1, called with httpx and the
official openai client.

- every response carries a numeric x-cadre-overhead-ms that leaves the upstream's time out;
- the upstream client is pooled: sequential requests reuse one connection;
- streams pass through chunk by chunk;
- a stuck upstream holds only its own model's queue: other models keep answering, its
  queue overflows into 429 + Retry-After, and the server-wide limit answers 429 at once;
- `--workers 2` answers from two processes on one port and /metrics sums them.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from cadre.server.stub_upstream import StubThread

CHAT = "/v1/chat/completions"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project(tmp_path, fast_url: str, stuck_url: str) -> str:
    """Three remote models: `fast` answers at once, `slow` waits 300 ms per piece, `stuck`
    never answers; two requests per model run at once and one more may wait."""
    path = tmp_path / "cadre.yaml"
    path.write_text(f"""\
version: 1
runtime: {{memory_budget: 1GB, remote_max_concurrent: 2, remote_max_queue: 1}}
router: {{keyword_fallback: true}}
routes: {{chat: {{model: fast}}}}
models:
  - {{name: fast, backend: openai, url: "{fast_url}", capabilities: [primary_chat], pinned: true}}
  - {{name: slow, backend: openai, url: "{fast_url}", capabilities: [summarization],
     options: {{model: sleep-300}}}}
  - {{name: stuck, backend: openai, url: "{stuck_url}", capabilities: [translation],
     options: {{model: stuck, timeout_s: 60, retries: 0}}}}
""")
    return str(path)


class Serve:
    """`cadre serve` in a subprocess on a free port; stopped with SIGTERM."""

    def __init__(self, config: str, *flags: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "cadre.cli.main", "serve", "--config", config, "--port",
               str(self.port), "--log-level", "warning", "--graceful-timeout", "2", *flags]
        self.proc = subprocess.Popen(cmd, env={**os.environ, "CADRE_API_KEY": ""},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 90
        while time.time() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()[-2000:]
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("cadre serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def stubs():
    fast, stuck = StubThread(), StubThread()
    yield fast, stuck
    fast.stop()
    stuck.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, stubs):
    fast, stuck = stubs
    srv = Serve(project(tmp_path_factory.mktemp("hot"), fast.url, stuck.url), "--max-in-flight", "64")
    yield srv
    srv.stop()


def chat(model: str, stream: bool = False) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "hello there"}], "stream": stream}


def overhead(response) -> float:
    value = response.headers["x-cadre-overhead-ms"]
    return float(value)  # numeric, or this raises


def test_every_response_carries_a_numeric_overhead_header(server):
    with httpx.Client(base_url=server.base, timeout=30) as client:
        responses = [client.post(CHAT, json=chat("fast")), client.post(CHAT, json=chat("auto")),
                     client.post("/v1/route", json={"input": "hello"}), client.get("/v1/models"),
                     client.get("/health"), client.get("/metrics"),
                     client.post(CHAT, json=chat("no-such-model")), client.post(CHAT, content=b"{not json", headers={"Content-Type": "application/json"})]
        with client.stream("POST", CHAT, json=chat("fast", stream=True)) as streamed:
            body = streamed.read().decode()
            responses.append(streamed)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 200, 404, 400, 200]
    assert body.rstrip().endswith("data: [DONE]") and "Hello" in body
    for response in responses:
        assert 0 <= overhead(response) < 5000


def test_the_overhead_leaves_the_upstreams_time_out(server):
    started = time.perf_counter()
    response = httpx.post(server.base + CHAT, json=chat("slow"), timeout=30)
    total_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello from the stub upstream."
    assert total_ms >= 300  # the stub waited 300 ms before answering
    assert overhead(response) < total_ms - 250  # ... and that wait is not cadre's overhead


def test_sequential_requests_reuse_one_pooled_upstream_connection(server, stubs):
    fast, _ = stubs
    with httpx.Client(base_url=server.base, timeout=30) as client:
        client.post(CHAT, json=chat("fast"))  # the first may open the connection
        before = (fast.stats.connections, fast.stats.requests)
        for i in range(12):
            assert client.post(CHAT, json=chat("fast", stream=bool(i % 2))).status_code == 200
    opened, served = fast.stats.connections - before[0], fast.stats.requests - before[1]
    assert served == 12
    assert opened <= 1, f"{opened} new upstream connections for 12 sequential requests"


def test_a_stream_passes_through_chunk_by_chunk(server):
    import openai

    client = openai.OpenAI(base_url=server.base + "/v1", api_key="x", max_retries=0, timeout=30)
    arrivals, text = [], ""
    for chunk in client.chat.completions.create(model="slow", stream=True,
                                                messages=[{"role": "user", "content": "hi"}]):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.perf_counter())
            text += chunk.choices[0].delta.content
    assert text == "Hello from the stub upstream."
    # The stub writes a piece every 300 ms: unbuffered, the pieces arrive spread out.
    assert arrivals[-1] - arrivals[0] >= 1.0


def wait_for(condition, timeout: float = 30.0) -> None:
    """Poll until `condition()` holds (bounded)."""
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.05)


def in_flight(base: str) -> float:
    """The server's cadre_requests_in_flight, this scrape included."""
    text = httpx.get(base + "/metrics", timeout=10).text
    return float(next(l for l in text.splitlines() if l.startswith("cadre_requests_in_flight")).split()[-1])


def hang(url: str, results: list) -> None:
    """POST a chat to the stuck model in a background thread; its outcome goes to `results`."""
    def call():
        try:
            results.append(httpx.post(url + CHAT, json=chat("stuck"), timeout=20).status_code)
        except httpx.HTTPError as exc:
            results.append(type(exc).__name__)
    threading.Thread(target=call, daemon=True).start()


def test_a_stuck_upstream_blocks_only_its_own_model(server, stubs):
    _, stuck = stubs
    hung, seen = [], stuck.stats.requests
    for _ in range(2):  # two run (the model's max_concurrent) ...
        hang(server.base, hung)
    wait_for(lambda: stuck.stats.requests == seen + 2)
    hang(server.base, hung)  # ... and one waits in its queue
    wait_for(lambda: in_flight(server.base) == 4)
    with httpx.Client(base_url=server.base, timeout=10) as client:
        started = time.perf_counter()
        overflow = client.post(CHAT, json=chat("stuck"))
        refused_in = time.perf_counter() - started
        assert overflow.status_code == 429, overflow.text
        assert int(overflow.headers["retry-after"]) >= 1
        assert overflow.json()["error"]["type"] == "rate_limit_error"
        assert refused_in < 2.0
        for _ in range(5):  # the other models answer as usual meanwhile
            started = time.perf_counter()
            assert client.post(CHAT, json=chat("fast")).status_code == 200
            assert time.perf_counter() - started < 2.0
        assert client.post("/v1/route", json={"input": "hello"}).status_code == 200
    assert hung == []  # the stuck ones are still waiting


def test_the_server_wide_limit_answers_429_at_once(tmp_path, stubs):
    fast, stuck = stubs
    srv = Serve(project(tmp_path, fast.url, stuck.url), "--max-in-flight", "2")
    try:
        hung, seen = [], stuck.stats.requests
        for _ in range(2):
            hang(srv.base, hung)
        wait_for(lambda: stuck.stats.requests == seen + 2)
        started = time.perf_counter()
        response = httpx.post(srv.base + CHAT, json=chat("fast"), timeout=10)
        assert response.status_code == 429, response.text
        assert time.perf_counter() - started < 2.0
        assert response.json()["error"]["code"] == "server_overloaded"
        assert response.headers["retry-after"] == "1"
        assert httpx.get(srv.base + "/health", timeout=5).status_code == 200  # liveness still answers
        assert hung == []
    finally:
        srv.stop()


def test_workers_serve_from_several_processes_and_metrics_sum_them(tmp_path, stubs):
    fast, stuck = stubs
    srv = Serve(project(tmp_path, fast.url, stuck.url), "--workers", "2")
    try:
        pids, chats = set(), 0
        for _ in range(60):  # a fresh connection each time: the kernel spreads them over workers
            pids.add(httpx.get(srv.base + "/health", timeout=10).json()["pid"])
            assert httpx.post(srv.base + CHAT, json=chat("fast"), timeout=10).status_code == 200
            chats += 1
            if len(pids) >= 2 and chats >= 10:
                break
        assert len(pids) == 2 and srv.proc.pid not in pids
        totals = set()
        for _ in range(6):  # whichever worker answers the scrape, it counts every worker's requests
            text = httpx.get(srv.base + "/metrics", timeout=10).text
            line = next(l for l in text.splitlines()
                        if l.startswith('cadre_requests_total{endpoint="/v1/chat/completions",status="200"}'))
            totals.add(float(line.split()[-1]))
        assert totals == {float(chats)}
    finally:
        srv.stop()
    assert srv.proc.returncode == 0


def test_route_inline_decides_like_the_thread_pool(serve_engine, live_server):
    from cadre.server.app import create_app
    from cadre.server.settings import ServerSettings

    decisions = []
    for inline in (False, True):
        srv = live_server(create_app(serve_engine, ServerSettings(route_inline=inline)))
        response = httpx.post(srv.base + "/v1/route", json={"input": "write a python function to sort a list"},
                              timeout=30)
        assert response.status_code == 200, response.text
        assert overhead(response) >= 0
        decisions.append((response.json()["route"], response.json()["reason"]))
    assert decisions[0] == decisions[1]


def test_loading_a_model_is_reported_apart_from_the_overhead(tmp_path, live_server):
    from cadre.runtime.engine import Engine
    from cadre.server.app import create_app
    from tests.server.conftest import register_test_backends

    register_test_backends()
    path = tmp_path / "cadre.yaml"
    path.write_text("version: 1\nmodels:\n  - {name: lazy, backend: test-slowload, capabilities: [primary_chat]}\n")
    engine = Engine.from_config_file(path)
    try:
        server = live_server(create_app(engine))
        body = {"model": "lazy", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
        first = httpx.post(f"{server.base}{CHAT}", json=body, timeout=60)
        second = httpx.post(f"{server.base}{CHAT}", json=body, timeout=60)
    finally:
        engine.close()
    assert first.status_code == second.status_code == 200
    assert float(first.headers["x-cadre-load-ms"]) >= 1500  # the 1.5 s load, reported on its own
    assert float(first.headers["x-cadre-overhead-ms"]) < 1000  # ... and not counted as overhead
    assert "x-cadre-load-ms" not in second.headers  # loaded already


def test_with_default_settings_64_clients_against_a_remote_model_get_no_429(tmp_path, stubs):
    import asyncio

    fast, _ = stubs
    path = tmp_path / "cadre.yaml"  # no runtime: section, so every limit is the default
    path.write_text(f"version: 1\nmodels:\n  - {{name: remote, backend: openai, url: \"{fast.url}\", "
                    "capabilities: [primary_chat], options: {model: sleep-300}}\n")
    srv = Serve(str(path))

    async def client(http: httpx.AsyncClient) -> list[int]:
        codes = []
        for model in ("remote", "auto", "remote"):
            response = await http.post(srv.base + CHAT, json=chat(model), timeout=60)
            codes.append(response.status_code)
        return codes

    async def load() -> list[int]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(limits=limits) as http:
            runs = await asyncio.gather(*(client(http) for _ in range(64)))
        return [code for run in runs for code in run]

    try:
        codes = asyncio.run(load())
    finally:
        srv.stop()
    assert codes.count(200) == 64 * 3, {c: codes.count(c) for c in set(codes)}  # 64 at once, each 300 ms
