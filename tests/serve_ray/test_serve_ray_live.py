"""`cadre serve --ray` on a real local Ray Serve (2 ingress + 2 model replicas) against
single-process `cadre serve` on the same project, through the official openai client."""
from __future__ import annotations

import concurrent.futures as cf
import json
import threading

import httpx
import openai
import pytest


pytestmark = pytest.mark.slow
SAME_HEADERS = ("x-cadre-route", "x-cadre-cost", "content-type")
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]
ASKS = [  # (what, request): chat by name, auto to a specialist, auto to the primary, an upstream, tools
    ("primary by name", dict(model="smollm2", messages=[{"role": "user", "content": "Say hello."}], max_tokens=12)),
    ("auto to code", dict(model="auto", messages=[{"role": "user", "content": "write a function to add two numbers"}],
                          max_tokens=24)),
    ("auto to chat", dict(model="auto", messages=[{"role": "user", "content": "How are you today?"}], max_tokens=12)),
    ("upstream by name", dict(model="upstream", messages=[{"role": "user", "content": "What is 2+2?"}], max_tokens=8)),
    ("client tools", dict(model="smollm2", messages=[{"role": "user", "content": "Weather in Paris?"}],
                          tools=TOOLS, max_tokens=40)),
]


def probe(server, *args: str):
    """tests/serve_ray/ray_probe.py against the server's Ray (see its docstring)."""
    import subprocess
    import sys
    from pathlib import Path

    out = subprocess.run([sys.executable, str(Path(__file__).with_name("ray_probe.py")), server.ray_address(), *args],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def client(server, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base}/v1", api_key="unused", max_retries=retries, timeout=120)


def answer(server, request: dict):
    raw = client(server).chat.completions.with_raw_response.create(**request)
    body = raw.parse()
    message = body.choices[0].message
    calls = [(c.function.name, c.function.arguments) for c in message.tool_calls or []]
    return (body.model, message.content, calls, body.choices[0].finish_reason, body.usage.completion_tokens,
            {h: raw.headers.get(h) for h in SAME_HEADERS})


def streamed(server, request: dict):
    with client(server).chat.completions.with_streaming_response.create(**request, stream=True) as raw:
        headers = {h: raw.headers.get(h) for h in SAME_HEADERS}
        chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    return chunks[0].model, text, finish, headers


@pytest.mark.parametrize("what, request_", ASKS, ids=[a[0] for a in ASKS])
def test_the_same_answer_and_headers_as_single_process(single, ray_served, what, request_):
    assert answer(ray_served, request_) == answer(single, request_)


@pytest.mark.parametrize("what, request_", ASKS[:4], ids=[a[0] for a in ASKS[:4]])
def test_the_same_stream_as_single_process(single, ray_served, what, request_):
    assert streamed(ray_served, request_) == streamed(single, request_)


@pytest.mark.parametrize("body", [
    {"model": "nope", "messages": [{"role": "user", "content": "hi"}]},
    {"model": "smollm2", "messages": []},
    {"model": "smollm2", "messages": [{"role": "user", "content": "hi"}], "max_tokens": -3},
    {"model": "auto", "messages": [{"role": "wizard", "content": "hi"}]},
])
def test_the_same_errors_as_single_process(single, ray_served, body):
    def error(server):
        with pytest.raises(openai.APIStatusError) as err:
            client(server).chat.completions.create(**body)
        return err.value.status_code, err.value.body
    got, want = error(ray_served), error(single)
    assert got == want and want[0] in (400, 404)


def test_a_loaded_model_serves_its_next_requests_from_its_replica_without_a_second_load(ray_served):
    ask = dict(model="code", messages=[{"role": "user", "content": "write a function to reverse a string"}],
               max_tokens=8)
    for _ in range(6):
        client(ray_served).chat.completions.create(**ask)
    replicas = probe(ray_served, "replicas")
    assert len(replicas) == 2
    loads = {tag: s["loads"].get("code", 0) for tag, s in replicas.items()}
    served = {tag: s["served"].get("code", 0) for tag, s in replicas.items()}
    holder = [tag for tag, n in loads.items() if n]
    assert sum(loads.values()) == 1 and len(holder) == 1, (loads, served)  # loaded once, on one replica
    assert served[holder[0]] >= 6 and sum(served.values()) == served[holder[0]], served


def test_decisions_land_in_per_replica_shards_read_as_one_log(ray_served, projects):
    from cadre.runtime.gateway.decisions import read_log
    from cadre.runtime.gateway.logfiles import shard_paths

    tokens = {}
    for i in range(8):
        raw = client(ray_served).chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": f"write a function number {i}"}], max_tokens=4)
        tokens[raw.headers["x-cadre-request-id"]] = raw.headers["x-cadre-feedback-token"]
    ids = set(tokens)
    base = projects["ray"].parent / "runs" / "gateway" / "decisions.jsonl"
    shards = shard_paths(base)[1:]  # the base path, then the shards
    assert len(shards) == 2 and not base.exists(), shards  # both replicas answered, each in its own file
    assert ids <= {d["id"] for d in read_log(base).decisions}
    for request_id in ids:  # feedback to any replica finds a decision made by the other
        reply = httpx.post(f"{ray_served.base}/v1/feedback", timeout=30,
                           json={"id": request_id, "token": tokens[request_id], "score": 1.0})
        assert reply.status_code == 200, reply.text
    assert {f["id"] for f in read_log(base).feedback} == ids


def test_metrics_add_up_every_ingress_replica(ray_served):
    pids = {httpx.get(f"{ray_served.base}/health", timeout=10).json()["pid"] for _ in range(30)}
    assert len(pids) == 2
    text = httpx.get(f"{ray_served.base}/metrics", timeout=10).text
    health = [line for line in text.splitlines() if line.startswith('cadre_requests_total{endpoint="/health",status="200"}')]
    assert health and float(health[0].split()[-1]) >= 30  # both replicas' requests in one scrape


def test_killing_a_model_replica_under_load_fails_no_request(ray_served):
    """48 requests (32 tokens, half streamed), 6 at a time; the replica holding `code` is
    killed (SIGKILL) after the 8th answer. The ingress retries what was in flight on the
    other replica, resuming greedy streams after what was sent; the client retries nothing
    (a retry would be counted and reported)."""
    import os
    import signal

    asks = [dict(model="code", messages=[{"role": "user", "content": f"write a function {i}"}], max_tokens=32,
                 stream=bool(i % 2)) for i in range(48)]
    client(ray_served).chat.completions.create(**{**asks[0], "stream": False})  # `code` loaded somewhere
    victim = probe(ray_served, "holder", "code")
    assert victim["loads"].get("code") == 1, victim  # the replica that holds it
    done, killed, lock = [0], threading.Event(), threading.Lock()
    counts = {"ok": 0, "client_retries": 0, "failed": 0}
    why: list[str] = []

    def one(ask):
        for attempt in range(2):
            try:
                out = client(ray_served).chat.completions.create(**ask)
                text = "".join(c.choices[0].delta.content or "" for c in out if c.choices) if ask["stream"] \
                    else out.choices[0].message.content
                assert isinstance(text, str)
                with lock:
                    counts["ok"] += 1
                    done[0] += 1
                    if done[0] == 8 and not killed.is_set():
                        killed.set()
                        os.kill(victim["pid"], signal.SIGKILL)
                return
            except (openai.APIError, AssertionError) as exc:
                with lock:
                    counts["client_retries" if attempt == 0 else "failed"] += 1
                    why.append(f"{'stream' if ask['stream'] else 'whole'}: {type(exc).__name__}: {str(exc)[:120]}")

    with cf.ThreadPoolExecutor(6) as pool:
        list(pool.map(one, asks))
    metrics = httpx.get(f"{ray_served.base}/metrics", timeout=30).text
    retries = [float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith('cadre_engine_count{kind="remote_retries"}')]
    print("\nkill under load:", json.dumps({**counts, "server_retries": retries, "client_retried_because": why}))
    assert killed.is_set() and retries and retries[0] >= 1  # the kill hit answers in flight
    assert counts["failed"] == 0 and counts["ok"] == 48, counts
    assert counts["client_retries"] == 0, why  # greedy answers resume on the other replica
