"""`cadre router collect --ray` through the CLI on a real local Ray instance, against two
OpenAI-compatible HTTP servers started here: the same routing table as a single-process
run, each endpoint's concurrency bound held across shards, and a resumed run."""
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[2]


class Handler(BaseHTTPRequestHandler):
    """/sharp/v1 adds right; /blunt/v1 is off by one on odd sums. Counts calls in flight."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        srv, model = self.server, self.path.split("/")[1]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        with srv.lock:
            srv.busy[model] = srv.busy.get(model, 0) + 1
            srv.peak[model] = max(srv.peak.get(model, 0), srv.busy[model])
            srv.calls[model] = srv.calls.get(model, 0) + 1
        time.sleep(0.15)  # long enough for shards to overlap, even when Ray starts workers slowly
        a, b = map(int, re.findall(r"\d+", prompt)[:2])
        total = a + b + (1 if model == "blunt" and (a + b) % 2 else 0)
        text = f"The answer is {total}."
        with srv.lock:
            srv.busy[model] -= 1
        payload = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": 4}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.busy, srv.peak, srv.calls, srv.lock, srv.daemon_threads = {}, {}, {}, threading.Lock(), True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def cadre(*args):
    return subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)


def test_ray_collect_writes_the_single_process_table_within_each_endpoints_bound(server, tmp_path):
    port = server.server_address[1]
    config = tmp_path / "cadre.yaml"
    config.write_text("models:\n" + "".join(
        f"  - {{name: {m}, backend: openai, url: 'http://127.0.0.1:{port}/{m}/v1', capabilities: [primary_chat], "
        f"cost_per_1k_tokens: {price}, options: {{retries: 0, timeout_s: 10}}}}\n"
        for m, price in (("sharp", 0.02), ("blunt", 0.001))))
    data = tmp_path / "questions.jsonl"
    data.write_text("".join(json.dumps({"question": f"What is {a} plus {b}?", "answer": str(a + b)}) + "\n"
                            for a, b in ((i, (i * 7) % 13) for i in range(1, 31))))
    common = ["router", "collect", "--models", "sharp,blunt", "--data", data, "--judge", "numeric",
              "--config", config, "--no-progress", "--concurrency", "2"]
    single = cadre(*common, "--output", tmp_path / "single.jsonl")
    assert single.returncode == 0, single.stderr[-2000:]
    server.peak.clear()
    half = cadre(*common, "--output", tmp_path / "ray.jsonl", "--ray", "--shards", "3", "--limit", "12")
    assert half.returncode == 0, half.stderr[-2000:]
    calls_before = dict(server.calls)
    full = cadre(*common, "--output", tmp_path / "ray.jsonl", "--ray", "--shards", "3", "--json")
    assert full.returncode == 0, full.stderr[-2000:]
    summary = json.loads(full.stdout)
    assert summary["resumed"] == 24 and summary["calls"] == 36  # 12 rows x 2 models kept, 18 x 2 made
    assert {m: server.calls[m] - calls_before[m] for m in ("sharp", "blunt")} == {"sharp": 18, "blunt": 18}
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "single.jsonl").read_bytes()
    assert max(server.peak.values()) <= 2 and sum(server.peak.values()) >= 3  # bounded, yet in parallel
    rows = [json.loads(line) for line in (tmp_path / "ray.jsonl").read_text().splitlines()]
    assert len(rows) == 30 and {r["model_scores"]["sharp"] for r in rows} == {1.0}


def test_ray_collect_bad_address_is_one_line(tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps({"question": "What is 1 plus 2?", "answer": "3"}) + "\n")
    config = tmp_path / "cadre.yaml"
    config.write_text("models:\n  - {name: m, backend: openai, url: 'http://127.0.0.1:9/v1', capabilities: [primary_chat]}\n")
    bad = cadre("router", "collect", "--models", "m", "--data", data, "--judge", "numeric", "--config", config,
                "--output", tmp_path / "out.jsonl", "--ray-address", "127.0.0.1:1", "--no-progress")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "--ray 127.0.0.1:1: cannot reach a Ray cluster" in bad.stderr
