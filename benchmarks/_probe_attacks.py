"""The attacks of `probe_server.py`: each takes the running server and returns
(handled, detail). "Handled" means it failed safely: the answer the issue asks for
(a clean answer, a 4xx with OpenAI's error JSON, a closed connection) and nothing leaked."""
from __future__ import annotations

import base64
import json
import os
import re
import select
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

LEAK = re.compile(r"/tmp/|/etc/|/home/|/root/|site-packages|ONNXRuntime|0x[0-9a-f]{6,}|Traceback|"
                  r"missing-model", re.IGNORECASE)


@dataclass
class Target:
    base: str
    port: int
    proc: object
    root: Path


def chat_body(content, **extra) -> dict:
    return {"model": "auto", "max_tokens": 8, "messages": [{"role": "user", "content": content}], **extra}


def _error_json(r: httpx.Response, status: int = 400) -> tuple[bool, str]:
    try:
        error = r.json()["error"]
        shaped = set(error) == {"message", "type", "param", "code"}
    except (ValueError, KeyError, TypeError):
        shaped = False
    leaked = bool(LEAK.search(r.text + str(dict(r.headers))))
    ok = r.status_code == status and shaped and not leaked
    return ok, f"{r.status_code}{' leak' if leaked else ''}: {r.text[:70]}"


def _health_worst(base: str, stop: threading.Event, out: list) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            ok = httpx.get(base + "/health", timeout=10).status_code == 200
        except httpx.HTTPError:
            ok = False
        out.append((ok, time.perf_counter() - started))
        stop.wait(0.2)


def math_bomb(text: str):
    def attack(t: Target):
        stop, polls = threading.Event(), []
        poller = threading.Thread(target=_health_worst, args=(t.base, stop, polls), daemon=True)
        poller.start()
        started = time.perf_counter()
        try:
            r = httpx.post(t.base + "/v1/chat/completions", json=chat_body(text), timeout=60)
        finally:
            stop.set()
            poller.join(15)
        took = time.perf_counter() - started
        worst = max((s for _, s in polls), default=0.0)
        answer = r.json()["choices"][0]["message"]["content"] if r.status_code == 200 else r.text[:60]
        ok = r.status_code == 200 and took < 15 and all(o for o, _ in polls) and worst < 2.0
        return ok, f"{r.status_code} in {took:.1f} s, /health worst {worst * 1000:.0f} ms: {answer[:50]}"
    return attack


def _series(text: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def label_cardinality(t: Target):
    def burst(start: int, n: int):
        for i in range(start, start + n):
            httpx.post(t.base + "/v1/route", json={"input": "hi", "model": f"router-keyword-0.{i:06d}1"})
            httpx.post(t.base + "/v1/chat/completions", json={"model": f"x-{i}", "messages": [
                {"role": "user", "content": "x"}]})
    burst(0, 2)
    httpx.get(t.base + "/metrics")
    before = httpx.get(t.base + "/metrics").text
    burst(2, 150)
    after = httpx.get(t.base + "/metrics").text
    new = _series(after) - _series(before)
    return not new, f"300 new model names: /metrics {len(before)} -> {len(after)} bytes, {len(new)} new series"


def _raw(t: Target, send, wait: float = 30) -> tuple[bytes, float]:
    sock = socket.create_connection(("127.0.0.1", t.port), timeout=wait)
    started, chunks = time.perf_counter(), []
    try:
        send(sock)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    except OSError:
        pass
    finally:
        sock.close()
    return b"".join(chunks), time.perf_counter() - started


def slow_client(kind: str):
    def send(sock):
        if kind == "partial request line":
            sock.sendall(b"GET /heal")
        elif kind == "dripped headers":
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            for _ in range(20):  # one byte every 0.5 s until the server answers
                if select.select([sock], [], [], 0.5)[0]:
                    break
                sock.sendall(b"X")
        else:
            sock.sendall(b"POST /v1/route HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")

    def attack(t: Target):
        reply, held = _raw(t, send)
        ok = reply.startswith(b"HTTP/1.1 408") and held < 8
        return ok, f"connection held {held:.1f} s, answered {reply[:12].decode(errors='replace')!r}"
    return attack


def connection_flood(t: Target):
    held = []
    for _ in range(40):
        held.append(socket.create_connection(("127.0.0.1", t.port), timeout=10))
    reply, _ = _raw(t, lambda s: None, 10)
    for sock in held:
        sock.close()
    deadline, recovered = time.time() + 15, False
    while time.time() < deadline and not recovered:
        try:
            recovered = httpx.get(t.base + "/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            time.sleep(0.2)
    ok = reply.startswith(b"HTTP/1.1 503") and b"too_many_connections" in reply and recovered
    return ok, f"41st connection: {reply[:12].decode(errors='replace')!r}; /health recovered: {recovered}"


def png_bomb(side: int) -> bytes:
    def block(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    pack, row = zlib.compressobj(9), b"\x00" * (1 + (side + 7) // 8)
    data = b"".join(pack.compress(row) for _ in range(side)) + pack.flush()
    return (b"\x89PNG\r\n\x1a\n" + block(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + block(b"IDAT", data) + block(b"IEND", b""))


def image_body(url: str) -> dict:
    return chat_body([{"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": url}}])


def bomb(side: int):
    def attack(t: Target):
        png = png_bomb(side)
        started = time.perf_counter()
        r = httpx.post(t.base + "/v1/chat/completions", timeout=60,
                       json=image_body("data:image/png;base64," + base64.b64encode(png).decode()))
        ok, detail = _error_json(r)
        return ok, f"{len(png) // 1000} KB PNG of {side}x{side}: {detail[:60]} in {time.perf_counter() - started:.2f} s"
    return attack


def image_paths(t: Target):
    (t.root / "allowed" / "link.png").unlink(missing_ok=True)
    os.symlink("/etc/hostname", t.root / "allowed" / "link.png")
    urls = ["/etc/passwd", "/etc/missing.png", "file:///etc/passwd", "file:///nope.png", "../../etc/passwd",
            str(t.root / "cadre.yaml"), "link.png", "~/.bashrc", "missing.png"]
    messages, bad = set(), []
    for url in urls:
        r = httpx.post(t.base + "/v1/chat/completions", json=image_body(url), timeout=60)
        ok, detail = _error_json(r)
        if not ok:
            bad.append(f"{url}: {detail}")
        messages.add(r.text)
    ok = not bad and len(messages) == 1
    return ok, f"{len(urls)} paths (existing, missing, file://, symlink escape): {len(messages)} distinct answer(s)" + (
        f"; {bad[0]}" if bad else "")


def text_paths(t: Target):
    messages = set()
    for path in ("/etc/passwd.png", "/nonexistent/cat.jpg"):
        r = httpx.post(t.base + "/v1/chat/completions", timeout=60,
                       json=chat_body(f"[E:vision] describe the picture {path}"))
        messages.add((r.status_code, r.text))
    ok = len(messages) == 1 and next(iter(messages))[0] == 400
    return ok, f"existing and missing path in text: {len(messages)} distinct answer(s), status {next(iter(messages))[0]}"


def ghost_leak(t: Target):
    r = httpx.post(t.base + "/v1/chat/completions", timeout=120,
                   json={"model": "ghost", "messages": [{"role": "user", "content": "hi"}]})
    return _error_json(r, 503)  # model_files_missing: says how to make them, not where


def raw_body(path: str, body: bytes, status: int = 400):
    def attack(t: Target):
        r = httpx.post(t.base + path, content=body, headers={"Content-Type": "application/json"}, timeout=60)
        return _error_json(r, status)
    return attack


def json_body(body: dict, status: int = 400):
    return raw_body("/v1/chat/completions", json.dumps(body).encode(), status)


def cors_refused(t: Target):
    r = httpx.options(t.base + "/v1/chat/completions",
                      headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    return _error_json(r)


def killed_worker(t: Target):
    """Kill every math worker (as the OOM killer would); the next problem still works."""
    children = psutil.Process(t.proc.pid).children(recursive=True)
    for child in children:
        child.kill()
    r = httpx.post(t.base + "/v1/chat/completions", json=chat_body("what is 17 times 23"), timeout=60)
    ok = r.status_code == 200 and "391" in r.text
    return ok, f"killed {len(children)} worker(s); next problem: {r.status_code} {'391' in r.text}"


def client_leaves(t: Target):
    """Clients that leave mid math bomb: after the time limit no worker burns CPU."""
    for _ in range(3):
        try:
            httpx.post(t.base + "/v1/chat/completions", json=chat_body("what is 9**9**9**9"), timeout=0.3)
        except httpx.HTTPError:
            pass
    time.sleep(7)
    children = psutil.Process(t.proc.pid).children(recursive=True)
    for child in children:
        child.cpu_percent(None)
    time.sleep(1)
    busy = [round(c.cpu_percent(None)) for c in children if c.is_running()]
    return bool(busy) and all(b < 50 for b in busy), f"CPU of the {len(busy)} workers 7 s after the clients left: {busy} %"


W = {"type": "function", "function": {"name": "w", "parameters": {"type": "object", "properties": {}}}}
DEEP = b'{"input": "x", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
BIG_INT = b'{"model": "auto", "seed": ' + b"9" * 5000 + b', "messages": [{"role": "user", "content": "x"}]}'
ATTACKS = [
    *[("dos: math", f"{q!r}", math_bomb(q)) for q in
      ("what is 9**9**9", "solve x**100 + x**99 + 7 = 0", "factorial(factorial(20))", "what is 10**10**6")],
    ("dos: labels", "300 distinct model names", label_cardinality),
    *[("dos: slow", k, slow_client(k)) for k in ("partial request line", "dripped headers", "lying content-length")],
    ("dos: flood", "40 idle connections, limit 32", connection_flood),
    *[("dos: bombs", f"PNG {s}x{s}", bomb(s)) for s in (20000, 12000, 5000)],
    ("disk", "image_url paths", image_paths),
    ("disk", "paths in text to vision", text_paths),
    ("leaks", "model with a missing folder (503)", ghost_leak),
    ("bad input", "lone surrogate, /v1/route", raw_body("/v1/route", b'{"input": "a\\ud800"}')),
    ("bad input", "lone surrogate, chat", raw_body("/v1/chat/completions",
                                                  b'{"model": "auto", "messages": [{"role": "user", "content": "\\udfff"}]}')),
    ("bad input", "nested 100,000 deep", raw_body("/v1/route", DEEP)),
    ("bad input", "integer of 5,000 digits", raw_body("/v1/chat/completions", BIG_INT)),
    ("bad input", "tool_choice names an unknown tool", json_body(chat_body("x", tools=[W], tool_choice={
        "type": "function", "function": {"name": "nope"}}))),
    ("bad input", "tool_choice required, no tools", json_body(chat_body("x", tool_choice="required"))),
    ("bad input", "tool schema not JSON Schema", json_body(chat_body("x", tools=[{"type": "function", "function": {
        "name": "f", "parameters": {"type": "banana"}}}]))),
    ("bad input", "refused CORS preflight", cors_refused),
    ("faults", "math workers killed", killed_worker),
    ("faults", "clients leave math bombs", client_leaves),
]
