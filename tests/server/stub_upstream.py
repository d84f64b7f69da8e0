"""A small OpenAI-compatible upstream for the proxy tests: a real HTTP server on a free
loopback port (the standard library's ThreadingHTTPServer) that answers
/v1/chat/completions the way a function-calling model does.

- With `tools` (and tool_choice not "none") and a user turn last, it answers with native
  `tool_calls`: the named function, else the first one, with arguments filled from the
  function's JSON schema. After a `tool` turn it answers in text.
- With `response_format` json_schema it answers JSON built from the schema; json_object
  gives `{"answer": ...}`.
- Otherwise it echoes the last user text (also when told to "ignore your tools", to play
  an upstream that does not honour tool_choice). `max_tokens` below the answer's word count cuts
  it and says finish_reason "length".
- Usage is always prompt 10 / completion 4, so a test can tell the upstream's own numbers
  from anything cadre would count. Streams send content word by word and tool-call
  arguments in two pieces, then usage when `stream_options.include_usage` is set.
- The upstream model `babbler` answers "the the the ..." and `mute` answers nothing (an
  undertrained specialist's degenerate and empty answers).
- "cut the stream" in the prompt ends a stream after one piece, without finish_reason or
  [DONE], as a crashed upstream would.
- Every request body is kept in `requests`, so a test can check what was passed through.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BABBLE = {"babbler": "the the the the the the the the", "mute": ""}
USAGE = {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}


def fill(schema: dict, key: str = ""):
    """A value that satisfies a (simple) JSON schema."""
    kind = schema.get("type", "object")
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return fill(schema["anyOf"][0], key)
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: fill(v, k) for k, v in props.items()}
    if kind == "array":
        return [fill(schema.get("items") or {"type": "string"}, key)]
    return {"integer": 3, "number": 1.5, "boolean": True}.get(kind, "Paris" if "city" in key or "location" in key
                                                                else f"{key or 'text'} value")


def last_user(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content") or ""
            return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
    return ""


def answer(body: dict) -> tuple[str | None, list[dict], str]:
    """(content, tool_calls, finish_reason) for one request."""
    tools, choice = body.get("tools") or [], body.get("tool_choice")
    messages = body.get("messages") or []
    defiant = "ignore your tools" in last_user(messages)  # plays an upstream that ignores tool_choice
    rounds = sum(m.get("role") == "tool" for m in messages)
    wanted_rounds = 2 if any("two tool rounds" in str(m.get("content")) for m in messages
                             if m.get("role") == "system") else 1  # an agent told to call tools twice
    if tools and choice != "none" and messages and not defiant and (
            messages[-1].get("role") != "tool" or rounds < wanted_rounds):
        wanted = choice["function"]["name"] if isinstance(choice, dict) else tools[0]["function"]["name"]
        fn = next(t["function"] for t in tools if t["function"]["name"] == wanted)
        args = json.dumps(fill(fn.get("parameters") or {"type": "object"}))
        return None, [{"id": f"call_stub{len(wanted)}" + (f"_{rounds}" if rounds else ""), "type": "function",
                       "function": {"name": wanted, "arguments": args}}], "tool_calls"
    fmt = body.get("response_format") or {}
    if body.get("model") in BABBLE:
        return BABBLE[body["model"]], [], "stop"
    if fmt.get("type") == "json_schema":
        text = json.dumps(fill(fmt["json_schema"].get("schema") or {"type": "object"}))
    elif fmt.get("type") == "json_object":
        text = json.dumps({"answer": last_user(messages)})
    elif messages and messages[-1].get("role") == "tool":
        text = f"The tool said: {messages[-1].get('content')}"
    else:
        text = f"stub answer to: {last_user(messages)}"
    words = text.split(" ")
    limit = body.get("max_tokens") or body.get("max_completion_tokens") or 10_000
    if len(words) > limit and not fmt:
        return " ".join(words[:limit]), [], "length"
    return text, [], "stop"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self._json(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw)
        self.server.stub.requests.append(body)
        self.server.stub.paths.append(self.path)
        if self.path.endswith("/responses"):
            return self._responses(body)
        if "reject_me" in body:  # an upstream that refuses a parameter, as OpenAI does
            return self._json(400, {"error": {"message": "Unrecognized request argument supplied: reject_me",
                                              "type": "invalid_request_error", "param": None, "code": None}})
        content, calls, finish = answer(body)
        base = {"id": "chatcmpl-stub", "created": 1, "model": f"upstream-{body.get('model')}"}
        if not body.get("stream"):
            message = {"role": "assistant", "content": content}
            if calls:
                message["tool_calls"] = calls
            self._json(200, {**base, "object": "chat.completion", "usage": USAGE,
                             "choices": [{"index": 0, "message": message, "finish_reason": finish}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        base = {**base, "object": "chat.completion.chunk"}
        if "cut the stream" in last_user(body.get("messages") or []):  # a truncated stream
            self._event({**base, "choices": [{"index": 0, "delta": {"content": "half"}, "finish_reason": None}]})
            self.close_connection = True
            return
        for delta in _deltas(content, calls):
            self._event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            self._event({**base, "choices": [], "usage": USAGE})
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def _responses(self, body: dict):
        """A native /v1/responses: echoes the input's last text, whole or as events."""
        items = body.get("input")
        text = items if isinstance(items, str) else str((items or [{}])[-1].get("content"))
        item = {"type": "message", "id": "msg_stub", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": f"native answer to: {text}", "annotations": []}]}
        response = {"id": "resp_stub", "object": "response", "created_at": 1, "status": "completed",
                    "model": f"upstream-{body.get('model')}", "output": [item], "error": None,
                    "usage": {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}}
        if not body.get("stream"):
            return self._json(200, response)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for n, event in enumerate([{"type": "response.created", "response": {**response, "status": "in_progress",
                                                                             "output": []}},
                                   {"type": "response.output_text.delta", "item_id": "msg_stub", "output_index": 0,
                                    "content_index": 0, "delta": item["content"][0]["text"]},
                                   {"type": "response.completed", "response": response}]):
            self.wfile.write(f"event: {event['type']}\ndata: {json.dumps({**event, 'sequence_number': n})}\n\n"
                             .encode())
        self.wfile.flush()
        self.close_connection = True

    def _event(self, payload: dict):
        self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, payload: dict):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _deltas(content: str | None, calls: list[dict]):
    yield {"role": "assistant", "content": ""}
    if content:
        words = content.split(" ")
        for i, word in enumerate(words):
            yield {"content": word if i == 0 else " " + word}
    for i, call in enumerate(calls):
        args = call["function"]["arguments"]
        half = len(args) // 2
        yield {"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                               "function": {"name": call["function"]["name"], "arguments": ""}}]}
        yield {"tool_calls": [{"index": i, "function": {"arguments": args[:half]}}]}
        yield {"tool_calls": [{"index": i, "function": {"arguments": args[half:]}}]}


class StubUpstream:
    """The stub on a free port of 127.0.0.1; `url` is its /v1 base."""

    def __init__(self):
        self.requests: list[dict] = []
        self.paths: list[str] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.stub = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
