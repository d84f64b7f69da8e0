"""A lean HTTP/1.1 load generator on raw asyncio streams, so the client costs little CPU
on a two-core machine that also runs the servers. Each client holds one keep-alive
connection and sends the same pre-built request again and again; it reads the response
head, then a content-length body or a chunked body to its terminator.

Every loop is bounded by a request count and a deadline.
"""
from __future__ import annotations

import asyncio
import json
import time


def build_request(port: int, path: str, body: dict, headers: dict | None = None) -> bytes:
    """The bytes of one POST request with a JSON body."""
    payload = json.dumps(body).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n{extra}\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader, marker: bytes | None):
    """(status, headers dict, seconds until `marker` was first seen in the body or None)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    seen_at = None
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
        if marker is not None and marker in body:
            seen_at = time.perf_counter()
        return status, headers, seen_at
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        data = await reader.readexactly(size + 2)
        if seen_at is None and marker is not None and marker in data:
            seen_at = time.perf_counter()
        if size == 0:
            return status, headers, seen_at


async def _client(port: int, request: bytes, count: int, deadline: float, out: list, marker):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            writer.write(request)
            status, headers, seen_at = await _read_response(reader, marker)
            done = time.perf_counter()
            out.append((status, done - started, (seen_at - started) if seen_at else None,
                        headers.get("x-cadre-overhead-ms")))
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def run_load(port: int, request: bytes, clients: int, per_client: int, seconds: float,
                   marker: bytes | None = None) -> dict:
    """Run `clients` connections, each sending up to `per_client` requests within `seconds`.

    Returns requests/s, latency p50/p99 (ms), TTFB p50/p99 (ms, when `marker` is given:
    time until the marker shows up in the body), errors (answers other than 200), the
    answers of 429 among them (`too_many`) and the overhead header's p50.
    """
    out: list = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, request, per_client, deadline, out, marker) for _ in range(clients)))
    wall = time.perf_counter() - started
    ok = [r for r in out if r[0] == 200]
    lat = sorted(r[1] * 1000 for r in ok)
    ttfb = sorted(r[2] * 1000 for r in ok if r[2] is not None)
    over = sorted(float(r[3]) for r in ok if r[3] is not None)
    return {"requests": len(out), "errors": len(out) - len(ok), "too_many": sum(1 for r in out if r[0] == 429),
            "rps": len(ok) / wall if wall else 0.0,
            "p50": pct(lat, 50), "p99": pct(lat, 99), "ttfb_p50": pct(ttfb, 50), "ttfb_p99": pct(ttfb, 99),
            "overhead_p50": pct(over, 50)}


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile of sorted values (nearest rank), None when empty."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))]
