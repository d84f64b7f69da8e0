"""A fast OpenAI-compatible stub upstream for load tests and the gateway benchmark.

Raw asyncio (no framework), HTTP/1.1 keep-alive, so that what a benchmark measures is the
gateway in front of it rather than the stub. It answers `POST .../chat/completions`
whole or as SSE (chunked transfer encoding), and `GET /stats` with the number of TCP
connections and requests it has seen (how tests check that a client pools connections).

The requested model name picks a behaviour, so one stub serves every test case:
`stuck` never answers; `sleep-<ms>` answers after that many milliseconds (streams wait
that long between chunks); anything else answers at once.

    python -m cadre.server.stub_upstream --port 0      # prints "listening on PORT"
"""
from __future__ import annotations

import argparse
import asyncio
import json
import threading

_WORDS = ("Hello", " from", " the", " stub", " upstream", ".")


class Stats:
    """What the stub has seen (read by tests through GET /stats or directly)."""

    def __init__(self):
        self.connections = 0
        self.requests = 0

    def as_bytes(self) -> bytes:
        return json.dumps({"connections": self.connections, "requests": self.requests}).encode()


def _delay_of(model: str) -> float | None:
    """Seconds to wait for a model name (None: never answer)."""
    if model == "stuck":
        return None
    if model.startswith("sleep-"):
        try:
            return float(model[6:]) / 1000
        except ValueError:
            return 0.0
    return 0.0


def _whole(model: str) -> bytes:
    return json.dumps({
        "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(_WORDS)},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": len(_WORDS), "total_tokens": 5 + len(_WORDS)},
    }).encode()


def _chunk(model: str, delta: dict, finish: str | None = None) -> bytes:
    event = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    data = b"data: " + json.dumps(event).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


class StubProtocol(asyncio.Protocol):
    """One client connection: parse requests in order, answer each."""

    def __init__(self, stats: Stats):
        self.stats, self.buffer, self.transport = stats, b"", None
        self.queue: asyncio.Queue = asyncio.Queue()
        self.worker = None

    def connection_made(self, transport):
        self.transport = transport
        self.stats.connections += 1
        self.worker = asyncio.get_running_loop().create_task(self._serve())

    def connection_lost(self, exc):
        if self.worker is not None:
            self.worker.cancel()

    def data_received(self, data: bytes):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4:head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length:]
            self.queue.put_nowait((head.split("\r\n", 1)[0], body))

    async def _serve(self):
        while True:
            request_line, body = await self.queue.get()
            self.stats.requests += 1
            await self._answer(request_line, body)

    def _send(self, status: str, body: bytes, content_type: bytes = b"application/json"):
        self.transport.write(b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s"
                             % (status.encode(), content_type, len(body), body))

    async def _answer(self, request_line: str, body: bytes):
        method, path = (request_line.split(" ") + ["", ""])[:2]
        if method == "GET" and path.endswith("/stats"):
            return self._send("200 OK", self.stats.as_bytes())
        if method != "POST" or not path.endswith("/chat/completions"):
            return self._send("404 Not Found", b'{"error": {"message": "no such endpoint"}}')
        try:
            payload = json.loads(body)
            model = str(payload.get("model") or "stub")
        except (ValueError, AttributeError):
            return self._send("400 Bad Request", b'{"error": {"message": "invalid JSON"}}')
        delay = _delay_of(model)
        if delay is None:
            await asyncio.Event().wait()  # stuck: holds the connection, never answers
        if not payload.get("stream"):
            if delay:
                await asyncio.sleep(delay)
            return self._send("200 OK", _whole(model))
        await self._stream(model, delay)

    async def _stream(self, model: str, delay: float):
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                             b"transfer-encoding: chunked\r\n\r\n")
        self.transport.write(_chunk(model, {"role": "assistant", "content": ""}))
        for word in _WORDS:
            if delay:
                await asyncio.sleep(delay)
            self.transport.write(_chunk(model, {"content": word}))
        self.transport.write(_chunk(model, {}, "stop"))
        done = b"data: [DONE]\n\n"
        self.transport.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))


async def start(host: str = "127.0.0.1", port: int = 0, stats: Stats | None = None):
    """Start the stub on the running loop; returns (server, port, stats)."""
    stats = stats or Stats()
    server = await asyncio.get_running_loop().create_server(lambda: StubProtocol(stats), host, port,
                                                            backlog=1024)
    return server, server.sockets[0].getsockname()[1], stats


class StubThread:
    """The stub in a background thread with its own loop (for tests)."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server, self.port, self.stats = self.loop.run_until_complete(start())
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        """Close the listener and every connection, then end the loop."""
        async def shutdown():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()

        self.loop.call_soon_threadsafe(lambda: self.loop.create_task(shutdown()))
        self.thread.join(5)


def main(argv: list[str] | None = None) -> None:
    """Run the stub until interrupted; prints the port it listens on."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    async def serve():
        server, port, _ = await start(args.host, args.port)
        print(f"listening on {port}", flush=True)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
