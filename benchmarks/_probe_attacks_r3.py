"""Issue 23's attacks for `probe_server.py`: linear-time keyword routing under megabytes of
adversarial text, browser-origin protection, the feedback channel, reasons that carry no
request text, an over-long request target and a YAML alias bomb. Each takes the running
server and returns (handled, detail), as benchmarks/_probe_attacks.py's do."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import httpx

from benchmarks._probe_attacks import LEAK, Target, _error_json, _health_worst

MB = 1_000_000
# 1 MB near misses for the bundled rules that backtracked under Python's `re` (issue 23).
ADVERSARIAL = {
    "digits": "1" * MB,
    "digits and spaces": "1 " * (MB // 2),
    "quote, no 'mean'": "what does '" + "a'" * (MB // 2 - 6),
    "'read', no 'aloud'": "read " + "a " * (MB // 2 - 3),
    "'times', no digit": "1 times " * (MB // 8),
}


def _while_polled(t: Target, send) -> tuple[httpx.Response, float, float, bool]:
    """(response, seconds, worst /health seconds, every poll ok) for one request sent while
    /health is polled every 200 ms from another thread."""
    stop, polls = threading.Event(), []
    poller = threading.Thread(target=_health_worst, args=(t.base, stop, polls), daemon=True)
    poller.start()
    time.sleep(0.3)  # one poll before, so a stall shows
    started = time.perf_counter()
    try:
        r = send()
    finally:
        took = time.perf_counter() - started
        stop.set()
        poller.join(15)
    return r, took, max((s for _, s in polls), default=0.0), all(ok for ok, _ in polls)


def keyword_megabyte(name: str):
    def attack(t: Target):
        text = ADVERSARIAL[name]
        r, took, worst, polled = _while_polled(
            t, lambda: httpx.post(t.base + "/v1/route", json={"input": text}, timeout=120))
        ok = r.status_code == 200 and took < 2.0 and polled and worst < 0.1
        return ok, f"{r.status_code} in {took * 1000:.0f} ms (with the upload), /health worst {worst * 1000:.0f} ms"
    return attack


def chat_megabyte(t: Target):
    """A 1 MB chat of digits through `auto`: the keyword rules route it to the math tool,
    which refuses it, and the primary answers the tail that fits its context. The route's
    own time is the /v1/route rows'; here a model computes, as in the math-bomb rows, so
    /health is held to their bound (2 s) and its worst is reported."""
    body = {"model": "auto", "max_tokens": 8, "messages": [{"role": "user", "content": "9" * MB}]}
    r, took, worst, polled = _while_polled(
        t, lambda: httpx.post(t.base + "/v1/chat/completions", json=body, timeout=120))
    ok = r.status_code < 500 and took < 15 and polled and worst < 2.0
    return ok, f"{r.status_code} in {took:.1f} s, /health worst {worst * 1000:.0f} ms"


def text_plain_post(path: str, body: dict):
    def attack(t: Target):
        r = httpx.post(t.base + path, content=json.dumps(body).encode(),
                       headers={"Content-Type": "text/plain"}, timeout=60)
        return _error_json(r, 415)
    return attack


def cross_origin_unload(t: Target):
    """A page on another origin posts with no body (no preflight, no content type)."""
    r = httpx.post(t.base + "/v1/models/smollm2/unload", headers={"Origin": "https://evil.example"}, timeout=60)
    return _error_json(r, 403)


def foreign_host(path: str):
    def attack(t: Target):
        r = httpx.get(t.base + path, headers={"Host": "rebound.evil.example"}, timeout=60)
        return _error_json(r, 403)
    return attack


def framing(t: Target):
    r = httpx.get(t.base + "/ui", timeout=60, follow_redirects=True)
    frame = r.headers.get("x-frame-options", "")
    csp = r.headers.get("content-security-policy", "")
    ok = frame.upper() == "DENY" and "frame-ancestors 'none'" in csp
    return ok, f"{r.status_code}: X-Frame-Options {frame or 'absent'}; CSP {csp[:60] or 'absent'}"


def _routed(t: Target) -> httpx.Response:
    return httpx.post(t.base + "/v1/chat/completions", timeout=60,
                      json={"model": "auto", "messages": [{"role": "user", "content": "what is 2 plus 3"}]})


def feedback_attack(kind: str):
    """Feedback without the caller's token, with another request's token, naming a model
    that was no candidate, and past the per-request cap."""
    def attack(t: Target):
        mine, theirs = _routed(t), _routed(t)
        rid, token = mine.headers.get("x-cadre-request-id"), mine.headers.get("x-cadre-feedback-token")
        body = {"id": rid, "score": 1}
        if kind == "no token":
            return _error_json(httpx.post(t.base + "/v1/feedback", json=body), 400)
        if kind == "another request's token":
            body["token"] = theirs.headers.get("x-cadre-feedback-token")
            return _error_json(httpx.post(t.base + "/v1/feedback", json=body), 403)
        if kind == "model not a candidate":
            return _error_json(httpx.post(t.base + "/v1/feedback", json={**body, "token": token, "model": "x" * 1000}), 400)
        statuses = [httpx.post(t.base + "/v1/feedback", json={**body, "token": token}).status_code for _ in range(12)]
        ok = statuses.count(200) <= 8 and statuses[-1] == 409
        return ok, f"12 posts for one id: {statuses.count(200)} accepted, then {sorted(set(statuses) - {200})}"
    return attack


def unknown_feedback_id(t: Target):
    r = httpx.post(t.base + "/v1/feedback", json={"id": "nope", "score": 1, "token": "0" * 32}, timeout=60)
    return _error_json(r, 404)


def reason_privacy(t: Target):
    """A card number and made-up words in a prompt never reach the route's reason."""
    secret, word = "4111 1111 1111 1111", "zqxvbnmword"
    r = httpx.post(t.base + "/v1/chat/completions", timeout=60, json={"model": "auto", "messages": [
        {"role": "user", "content": f"what is {secret} times {word} plus 3"}]})
    reason = r.headers.get("x-cadre-route", "")
    leaked = [s for s in ("4111", word) if s in reason]
    ok = r.status_code == 200 and bool(reason) and not leaked
    return ok, f"{r.status_code}; reason {reason[:60]!r}; leaked {leaked or 'nothing'}"


def long_target(t: Target):
    with socket.create_connection(("127.0.0.1", t.port), timeout=10) as sock:
        sock.sendall(b"GET /v1/models?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    try:
        shaped = set(json.loads(body)["error"]) == {"message", "type", "param", "code"}
    except (ValueError, KeyError, TypeError):
        shaped = False
    ok = head.startswith(b"HTTP/1.1 400") and shaped and not LEAK.search(body.decode(errors="replace"))
    return ok, f"{head.splitlines()[0].decode() if head else 'closed'}: {body[:60].decode(errors='replace')}"


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))


def yaml_bomb(t: Target):
    """A 600-byte project file of nested aliases, given to `cadre models list`."""
    path = t.root / "bomb.yaml"
    path.write_text(BOMB)
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "cadre.cli.main", "models", "list", "--config", str(path)],
                              capture_output=True, text=True, timeout=30, env={**os.environ}, check=False)
    except subprocess.TimeoutExpired:
        return False, f"{len(BOMB)}-byte file: still running after 30 s"
    took, lines = time.perf_counter() - started, done.stderr.strip().splitlines()
    ok = done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:")
    return ok, f"{len(BOMB)}-byte file: exit {done.returncode} in {took:.1f} s: {(lines or [''])[-1][:70]}"


ATTACKS = [
    *[("dos: keyword", f"1 MB, {name}, /v1/route", keyword_megabyte(name)) for name in ADVERSARIAL],
    ("dos: keyword", "1 MB chat of digits, answered by the primary", chat_megabyte),
    ("browser", "text/plain chat", text_plain_post("/v1/chat/completions", {
        "model": "auto", "messages": [{"role": "user", "content": "hi"}]})),
    ("browser", "text/plain load", text_plain_post("/v1/models/smollm2/load", {})),
    ("browser", "text/plain feedback", text_plain_post("/v1/feedback", {"id": "x", "score": 1})),
    ("browser", "cross-origin bodyless unload", cross_origin_unload),
    *[("browser", f"foreign Host, GET {p}", foreign_host(p)) for p in
      ("/v1/dashboard/traffic", "/metrics", "/v1/models")],
    ("browser", "/ui framed", framing),
    *[("feedback", k, feedback_attack(k)) for k in
      ("no token", "another request's token", "model not a candidate", "past the cap")],
    ("leaks", "feedback for an unknown id (404)", unknown_feedback_id),
    ("leaks", "card number in a routed prompt", reason_privacy),
    ("bad input", "request target of 70 KB", long_target),
    ("config", "YAML alias bomb", yaml_bomb),
]
