"""A profile of cadre's request path, stage by stage, in one process: the real code of
each stage timed over many calls (median and p99 in microseconds, wall and CPU).

    python benchmarks/hot_path_profile.py [--calls 2000]

Stages: the three ASGI middlewares (admission + overhead header, metrics, key check)
around an empty endpoint; the key check alone; JSON + pydantic parsing of a chat body;
routing with the keyword rules and with the nano ONNX router; the manager's lease
(acquire + release of a loaded model); the upstream call through the `openai` backend's
async path to the stub upstream (the stub's own time included); serialising the answer.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import _gateway_setup as setup  # noqa: E402
from benchmarks._report import table, write_section  # noqa: E402

BODY = json.dumps({"model": "stub", "messages": [{"role": "user", "content": "hello there, how are you today?"}]}).encode()


def timed(fn, calls: int) -> tuple[float, float, float]:
    """(median µs, p99 µs, mean CPU µs) of `fn()` over `calls` calls."""
    for _ in range(min(100, calls)):
        fn()
    walls = []
    cpu0 = time.process_time()
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        walls.append((time.perf_counter() - t) * 1e6)
    cpu = (time.process_time() - cpu0) / calls * 1e6
    walls.sort()
    return statistics.median(walls), walls[int(len(walls) * 0.99) - 1], cpu


def middleware_stage(calls: int):
    """The three middlewares around an endpoint that answers at once."""
    from cadre.server.hotpath import HotPathMiddleware
    from cadre.server.metrics import MetricsMiddleware, ServerMetrics
    from cadre.server.middleware import GuardMiddleware

    async def endpoint(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = HotPathMiddleware(MetricsMiddleware(GuardMiddleware(endpoint, api_keys=(setup.KEY,)),
                                              metrics=ServerMetrics()))
    scope = {"type": "http", "path": "/v1/chat/completions", "method": "POST",
             "headers": [(b"authorization", f"Bearer {setup.KEY}".encode()),
                         (b"content-length", str(len(BODY)).encode())]}

    async def receive():
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message):
        pass

    loop = asyncio.new_event_loop()
    try:
        return timed(lambda: loop.run_until_complete(app(scope, receive, send)), calls)
    finally:
        loop.close()


def stages(calls: int, folder: Path) -> list[tuple[str, tuple]]:
    from cadre.config import load_config
    from cadre.runtime.engine import Engine
    from cadre.server.middleware import key_ok
    from cadre.server.schemas import ChatCompletionRequest
    from cadre.server.stub_upstream import StubThread
    from fastapi.responses import JSONResponse

    stub = StubThread()
    config = setup.nano_project(folder, stub.url, setup.nano_router(folder))
    engine = Engine(load_config(config))
    engine.manager.load("router")
    engine.manager.load("stub")
    scope = {"headers": [(b"authorization", f"Bearer {setup.KEY}".encode())]}
    rows = [("middlewares (admission, metrics, key) around an empty endpoint", middleware_stage(calls)),
            ("key check alone", timed(lambda: key_ok(scope, (setup.KEY,)), calls)),
            ("JSON + pydantic parsing of the chat body",
             timed(lambda: ChatCompletionRequest.model_validate(json.loads(BODY)), calls)),
            ("routing: keyword rules", timed(lambda: engine.route("hello there", "router-keyword-0.5"), calls)),
            ("routing: nano ONNX router (model=auto)", timed(lambda: engine.route("hello there", "auto"), calls)),
            ("manager lease: acquire + release", timed(lambda: engine.manager.release(
                "stub") if engine.manager.acquire("stub") else None, calls))]
    rows.append(("upstream call: openai backend async path + stub", _upstream(engine, calls)))
    route_body = json.dumps({"input": "hello there", "model": "router-keyword-0.5"}).encode()
    rows.append(("whole app in-process: POST /v1/route, keyword rules", whole_app(engine, calls, "/v1/route", route_body)))
    rows.append(("whole app in-process: POST /v1/chat/completions, named model + stub",
                 whole_app(engine, calls, "/v1/chat/completions", BODY)))
    payload = {"id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": "stub",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the stub."},
                            "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 6}}
    rows.append(("serialising the answer (JSONResponse)", timed(lambda: JSONResponse(payload).body, calls)))
    engine.close()
    stub.stop()
    return rows


def _upstream(engine, calls: int):
    backend = engine.manager.acquire("stub")
    loop = asyncio.new_event_loop()
    messages = [{"role": "user", "content": "hello"}]
    try:
        return timed(lambda: loop.run_until_complete(backend.awhole(messages, 16)), calls)
    finally:
        loop.run_until_complete(backend.async_clients.aclose_current())
        engine.manager.release("stub")
        loop.close()


def whole_app(engine, calls: int, path: str, body: bytes):
    """One request through the whole ASGI app (FastAPI routing, endpoint, middlewares), no
    HTTP parsing: what cadre's code costs on top of uvicorn."""
    from cadre.server.app import create_app

    app = create_app(engine)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    sent = []

    async def send(message):
        sent.append(message)

    async def one():
        given = []

        async def receive():  # the body once, then nothing until the client would leave
            if given:
                await asyncio.Event().wait()
            given.append(1)
            return {"type": "http.request", "body": body, "more_body": False}
        await app({**scope, "state": {}}, receive, send)

    loop = asyncio.new_event_loop()
    try:
        result = timed(lambda: loop.run_until_complete(one()), calls)
        assert all(m["status"] == 200 for m in sent if m["type"] == "http.response.start"), sent[:2]
        for slot in engine.manager.slots.values():
            if slot.backend is not None and getattr(slot.backend, "async_clients", None):
                loop.run_until_complete(slot.backend.async_clients.aclose_current())
        return result
    finally:
        loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    folder = ROOT / "runs" / "bench-gateway"
    folder.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory():
        rows = stages(args.calls, folder)
    load = max(load, os.getloadavg()[0])
    body = (f"{args.calls} calls per stage, one process, one thread; load average up to {load:.1f} on "
            f"{os.cpu_count()} cores (above 1, wall times include waiting for a core: the CPU column is "
            f"the steadier figure). The whole-app rows drive the ASGI app with one event-loop run per "
            f"call, so they include starting the loop and, for /v1/route, a thread round trip.\n\n"
            + table(["stage", "wall p50 µs", "wall p99 µs", "CPU µs/call"],
                    [[name, f"{p50:.0f}", f"{p99:.0f}", f"{cpu:.0f}"] for name, (p50, p99, cpu) in rows]))
    print(body)
    if not args.no_write:
        write_section("Request path profile (issue 12)", body,
                      f"python benchmarks/hot_path_profile.py --calls {args.calls}")


if __name__ == "__main__":
    main()
