"""The openai backend against a real HTTP server on 127.0.0.1 (no mocks): answers,
SSE streaming, retries, and the failure modes (refused, timeout, HTTP 500)."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cadre.runtime.backends.openai import OpenAIBackend
from cadre.runtime.errors import BackendError
from cadre.runtime.registry import ModelCapability, ModelSpec


class Handler(BaseHTTPRequestHandler):
    """Answers like an OpenAI server; `mode` on the server picks a behaviour."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        server.hits += 1
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.bodies.append(body)
        mode = server.mode
        if mode == "500" or (mode == "500-then-ok" and server.hits == 1):
            return self._send(500, b'{"error": {"message": "boom"}}')
        if mode == "hang":
            time.sleep(3)
            return self._send(200, b"{}")
        if mode == "malformed":
            return self._send(200, b"not json")
        text = "echo: " + body["messages"][-1]["content"]
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for word in text.split(" "):
                chunk = {"choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
            return
        answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 3}}
        self._send(200, json.dumps(answer).encode())

    def _send(self, status, payload):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.mode, srv.hits, srv.bodies, srv.daemon_threads = "ok", 0, [], True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def backend_for(url, **options):
    spec = ModelSpec("remote", backend="openai", url=url, capabilities=(ModelCapability.PRIMARY_CHAT,),
                     options={"retries": 1, "backoff_s": 0.01, "timeout_s": 0.5, "connect_timeout_s": 0.5, **options})
    backend = OpenAIBackend(spec)
    backend.load()
    return backend


def url(srv):
    return f"http://127.0.0.1:{srv.server_address[1]}/v1"


def test_answers_whole_and_streamed(server):
    backend = backend_for(url(server), model="served-name")
    text, usage, finish = backend.chat([{"role": "user", "content": "hi there"}], max_tokens=7)
    assert text == "echo: hi there" and usage.prompt_tokens == 5 and finish == "stop"
    assert server.bodies[-1]["model"] == "served-name" and server.bodies[-1]["max_tokens"] == 7
    stream = backend.stream([{"role": "user", "content": "one two"}])
    assert "".join(stream).strip() == "echo: one two" and stream.finish_reason == "stop"


def test_a_500_is_retried_with_backoff_then_reported(server):
    server.mode = "500-then-ok"
    backend = backend_for(url(server))
    assert backend.invoke("again") == "echo: again" and server.hits == 2
    server.mode, server.hits = "500", 0
    with pytest.raises(BackendError, match=r"HTTP 500.*after 2 attempts"):
        backend.invoke("x")
    assert server.hits == 2


def test_a_hanging_endpoint_times_out(server):
    server.mode = "hang"
    backend = backend_for(url(server), retries=0)
    started = time.perf_counter()
    with pytest.raises(BackendError, match="timed out after 0.5s"):
        backend.invoke("x")
    assert time.perf_counter() - started < 2.5


def test_a_refused_connection_and_a_malformed_answer_are_clear(server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(BackendError, match="refused the connection"):
        backend_for(f"http://127.0.0.1:{port}/v1").invoke("x")
    server.mode = "malformed"
    with pytest.raises(BackendError, match="malformed answer"):
        backend_for(url(server)).invoke("x")


def test_a_missing_api_key_variable_is_an_error(monkeypatch):
    monkeypatch.delenv("CADRE_TEST_KEY", raising=False)
    spec = ModelSpec("remote", backend="openai", url="http://127.0.0.1:9/v1",
                     capabilities=(ModelCapability.PRIMARY_CHAT,), options={"api_key_env": "CADRE_TEST_KEY"})
    with pytest.raises(BackendError, match="CADRE_TEST_KEY is not set"):
        OpenAIBackend(spec).load()
    with pytest.raises(Exception, match="options.timeout"):
        OpenAIBackend(ModelSpec("r", backend="openai", url="http://x", options={"timeout": 3}))
