"""A small OpenAI-compatible upstream on 127.0.0.1 (an ephemeral port), for the gateway
tests and benchmarks/gateway.py. Standard library only.

Each stub plays one model. `answer(prompt) -> (text, prompt_tokens, completion_tokens)`
decides what it says (by default "<name>: ok" with 10/4 tokens). `mode` injects faults:
"ok", "500", "429", "malformed" (200 with a body that is not JSON), "truncated" (a stream
cut after its first piece, or a whole answer cut mid-JSON) and "hang" (no answer for 5 s).
`stop()` closes the port (a killed upstream); `start()` opens it again on the same port.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 (http.server's name)
        stub = self.server.stub
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        stub.hits += 1
        mode = stub.mode
        if mode in ("500", "429"):
            return self._send(int(mode), json.dumps({"error": {"message": f"{stub.name} injected {mode}"}}))
        if mode == "hang":
            time.sleep(5)
        if mode == "malformed":
            return self._send(200, "this is not json {")
        prompt = _last_user(body.get("messages") or [])
        text, p_tokens, c_tokens = stub.answer(prompt)
        if body.get("stream"):
            return self._stream(stub, text, p_tokens, c_tokens, mode == "truncated")
        payload = {"id": "stub-1", "object": "chat.completion", "created": int(time.time()), "model": stub.name,
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": p_tokens, "completion_tokens": c_tokens,
                             "total_tokens": p_tokens + c_tokens}}
        raw = json.dumps(payload)
        self._send(200, raw[: len(raw) // 2] if mode == "truncated" else raw)

    def _stream(self, stub, text, p_tokens, c_tokens, truncated):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        words = text.split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            if truncated:
                self.wfile.write(b'data: {"choices": [{"ind')  # cut mid-event, then the connection drops
                self.wfile.flush()
                self.close_connection = True
                return
        done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": p_tokens, "completion_tokens": c_tokens,
                          "total_tokens": p_tokens + c_tokens}}
        self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def _send(self, status: int, text: str):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")  # no keep-alive: a stopped stub refuses at once
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True


def _last_user(messages: list) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, list):
                return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content or ""
    return ""


class StubUpstream:
    """One stub model server; `url` is its OpenAI base URL (…/v1)."""

    def __init__(self, name: str, answer=None, port: int = 0):
        self.name, self.mode, self.hits = name, "ok", 0
        self.answer = answer or (lambda prompt: (f"{name}: ok", 10, 4))
        self.port, self.server, self.thread = port, None, None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Listen (again) on the stub's port."""
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self.server.daemon_threads = True
        self.server.stub = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Close the port: connections are refused until `start()`."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
