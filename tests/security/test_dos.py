"""Denial of service against a real `cadre serve`: math that never ends, label
cardinality, slow and lying clients, too many connections, decompression bombs, and
tool-calling requests whose client leaves."""
from __future__ import annotations

import base64
import select
import socket
import struct
import threading
import time
import zlib

import httpx
import psutil
import pytest

from tests.security.conftest import BODY_TIMEOUT, HEADER_TIMEOUT, MAX_CONNECTIONS

MATH_ATTACKS = ["what is 9**9**9", "solve x**100 + x**99 + 7 = 0", "factorial(factorial(20))",
                "what is 10**10**6"]


def chat(served, text: str, timeout: float = 60, **extra) -> httpx.Response:
    body = {"model": "auto", "messages": [{"role": "user", "content": text}], "max_tokens": 8, **extra}
    return httpx.post(served.base + "/v1/chat/completions", json=body, timeout=timeout)


class HealthProbe:
    """Polls /health every 0.2 s in a thread and records the slowest answer."""

    def __init__(self, base: str):
        self.base, self.worst, self.failures, self.count = base, 0.0, [], 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                ok = httpx.get(self.base + "/health", timeout=5).status_code == 200
            except httpx.HTTPError as exc:
                ok = False
                self.failures.append(repr(exc))
            if not ok and not self.failures:
                self.failures.append("non-200")
            self.worst = max(self.worst, time.perf_counter() - started)
            self.count += 1
            self.stop.wait(0.2)

    def finish(self):
        self.stop.set()
        self.thread.join(10)


def test_math_bombs_get_a_clean_answer_while_health_keeps_answering(served):
    probe = HealthProbe(served.base)
    try:
        for text in MATH_ATTACKS:
            started = time.perf_counter()
            response = chat(served, text)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text
            answer = response.json()["choices"][0]["message"]["content"]
            assert response.json()["model"] == "tool:solve_math"
            assert "cannot compute that exactly" in answer, answer
            assert elapsed < 15, f"{text!r} took {elapsed:.1f} s"
    finally:
        probe.finish()
    assert not probe.failures and probe.count >= 5
    assert probe.worst < 2.0, f"/health took {probe.worst:.2f} s during the math attacks"
    # a real problem still works, and the killed workers were replaced
    assert "391" in chat(served, "what is 17 times 23").json()["choices"][0]["message"]["content"]


def test_a_client_that_leaves_a_math_bomb_leaves_no_cpu_burning(served):
    with pytest.raises(httpx.ReadTimeout):
        chat(served, "what is 9**9**9**2", timeout=0.5)
    time.sleep(5)  # past the 3 s limit: the worker was killed and a fresh one is idle
    children = psutil.Process(served.proc.pid).children(recursive=True)
    for child in children:
        child.cpu_percent(None)
    time.sleep(1.0)
    busy = [c.cpu_percent(None) for c in children if c.is_running()]
    assert busy and all(b < 50 for b in busy), busy  # the killed worker was replaced, and it is idle


def _series(metrics: str) -> set[str]:
    """The metric series (name and labels) of a Prometheus text, without their values."""
    return {line.rsplit(" ", 1)[0] for line in metrics.splitlines() if line and not line.startswith("#")}


def test_metric_labels_never_take_the_model_string(served):
    def burst(start: int, count: int) -> None:
        for i in range(start, start + count):
            httpx.post(served.base + "/v1/route", json={"input": "hi", "model": f"router-keyword-0.{i:04d}1"})
            httpx.post(served.base + "/v1/route", json={"input": "hi", "model": f"router-evil{i}-0.5"})
            httpx.post(served.base + "/v1/chat/completions",
                       json={"model": f"nonsense-{i}", "messages": [{"role": "user", "content": "x"}]})
    burst(0, 2)
    httpx.get(served.base + "/metrics")  # the scrape itself is a series too
    before = httpx.get(served.base + "/metrics").text
    burst(2, 12)
    after = httpx.get(served.base + "/metrics").text
    assert _series(after) == _series(before)  # 36 new names, not one new series
    assert "0.00011" not in after and "nonsense-" not in after and "evil" not in after
    assert 'requested="router-keyword"' in after


def _connect(served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


@pytest.mark.parametrize("kind", ["partial request line", "dripped headers", "lying content-length"])
def test_slow_clients_are_cut_off(served, kind):
    sock = _connect(served)
    started = time.perf_counter()
    if kind == "partial request line":
        sock.sendall(b"GET /heal")
    elif kind == "dripped headers":
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        for _ in range(12):  # one header byte every 0.5 s, never the blank line, until answered
            if select.select([sock], [], [], 0.5)[0]:
                break
            sock.sendall(b"X")
    else:
        sock.sendall(b"POST /v1/route HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"input\": ")
    reply = _read_all(sock)
    elapsed = time.perf_counter() - started
    sock.close()
    limit = BODY_TIMEOUT if kind == "lying content-length" else HEADER_TIMEOUT
    assert elapsed < limit + 5, f"{kind}: held {elapsed:.1f} s"
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b'"code": "request_timeout"' in reply or b'"code":"request_timeout"' in reply


def test_connections_past_the_limit_get_503_json_and_health_recovers(served):
    held = [_connect(served) for _ in range(MAX_CONNECTIONS + 4)]
    try:
        extra = _connect(served)
        reply = _read_all(extra)
        extra.close()
        assert reply.startswith(b"HTTP/1.1 503"), reply[:200]
        assert b"too_many_connections" in reply
    finally:
        for sock in held:
            sock.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            if httpx.get(served.base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("/health did not recover after the connection flood")


def png_bomb(side: int) -> bytes:
    """A real PNG of side x side black pixels (grey, 1 bit): a few KB that decode to a lot."""
    def block(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    pack = zlib.compressobj(9)
    data = b"".join(pack.compress(row) for _ in range(side)) + pack.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + block(b"IHDR", header) + block(b"IDAT", data) + block(b"IEND", b"")


def test_a_decompression_bomb_is_refused_before_decoding(served):
    bomb = png_bomb(20000)
    assert len(bomb) < 100_000
    url = "data:image/png;base64," + base64.b64encode(bomb).decode()
    started = time.perf_counter()
    response = httpx.post(served.base + "/v1/chat/completions", timeout=60, json={
        "model": "auto", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": url}}]}]})
    assert response.status_code == 400, response.text
    assert "more than 16,777,216 pixels" in response.json()["error"]["message"]
    assert time.perf_counter() - started < 5


def test_a_tool_calling_request_is_cancelled_when_its_client_leaves(live, slow_log):
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(live.base + "/v1/chat/completions", timeout=0.6, headers={"Authorization": "Bearer test-key"},
                   json={"model": "slow", "max_tokens": 200, "tools": [tool],
                         "messages": [{"role": "user", "content": "weather in Rome?"}]})
    deadline = time.time() + 10
    while "stopped" not in slow_log and time.time() < deadline:
        time.sleep(0.1)
    assert "stopped" in slow_log and "finished" not in slow_log
    assert slow_log.count("tick") < 100  # 200 ticks would take 10 s


@pytest.mark.slow
def test_sigterm_during_a_math_bomb_stops_the_server(tmp_path, tiny_router_dir):
    """Before the fix sympy held the GIL and SIGTERM waited for SIGKILL (own server: it dies)."""
    from tests.security.conftest import Served, security_project

    server = Served(tmp_path, security_project(tmp_path, tiny_router_dir))
    try:
        thread = threading.Thread(target=lambda: _ignore_errors(chat, server, "what is 9**9**9"), daemon=True)
        thread.start()
        time.sleep(1.0)
        workers = psutil.Process(server.proc.pid).children(recursive=True)
        assert workers  # the math workers, one of them on the bomb
        started = time.perf_counter()
        server.proc.terminate()
        server.proc.wait(30)
        assert time.perf_counter() - started < 15
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive  # no worker outlives the server
    finally:
        server.stop()


def _ignore_errors(fn, *args):
    try:
        fn(*args)
    except httpx.HTTPError:
        pass
