"""`cadre router train --kind finetune` end to end through the real CLI on a tiny slice of
the bundled Banking77 (6 intents × 20 texts): MiniLM fine-tuned, exported to ONNX, judged
by `router eval`, stopped cleanly by `--train-budget`, considered by auto only with a
budget, and served by a real `cadre serve` over HTTP (/v1/route)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.cli.test_router_auto import CLASSES, cli, write_csv


def test_bad_train_budget_is_a_one_line_error(tmp_path):
    data = write_csv(tmp_path / "d.csv", [("a b", "x"), ("c d", "y")] * 3)
    result = cli("router", "train", "--kind", "finetune", "--data", data, "--output", tmp_path / "o",
                 "--train-budget", "0")
    assert result.returncode == 2 and result.stderr.startswith("error: --train-budget 0")
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_finetune_trains_exports_onnx_and_routes(tiny):
    root, train, test = tiny
    out = root / "ft"
    result = cli("router", "train", "--kind", "finetune", "--data", train, "--output", out, "--epochs", "2")
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "cadre.json").read_text())
    assert meta["router_kind"] == "finetune" and sorted(meta["labels"]) == sorted(CLASSES)
    assert (out / "model.onnx").stat().st_size > 10_000_000 and (out / "tokenizer").is_dir()
    assert meta["training"]["epochs"] == 2.0 and meta["training"]["dtype"] in ("fp32", "bf16")
    judged_and_routed(out, test, "finetune")


def judged_and_routed(out, test, kind: str) -> None:
    """`router eval` on the 240 held-out Banking77 test texts, and one `cadre route`."""
    report = json.loads(cli("router", "eval", out, "--data", test, "--json", "--latency-samples", "5").stdout)
    assert report["kind"] == kind and report["accuracy"] > 0.85
    routed = json.loads(cli("route", out, "my new card still has not arrived", "--json").stdout)
    assert routed["name"] == "card_arrival" and routed["reason"].startswith(f"{kind} card_arrival")


@pytest.mark.slow
def test_train_budget_stops_training_cleanly(tiny):
    root, train, _ = tiny
    out = root / "budget"
    started = time.perf_counter()
    result = cli("router", "train", "--kind", "finetune", "--data", train, "--output", out, "--epochs", "50",
                 "--train-budget", "4")
    assert result.returncode == 0, result.stderr
    training = json.loads((out / "cadre.json").read_text())["training"]
    assert training["epochs"] < 50 and training["seconds"] < 4 + 10  # one step may run past the budget
    assert "budget" in training["stopped"] or training["stopped"] == "planned steps done"
    assert time.perf_counter() - started < 300


@pytest.mark.slow
def test_auto_considers_finetune_only_with_a_budget(tiny):
    root, train, _ = tiny
    result = cli("router", "train", "--data", train, "--output", root / "no_budget", "--candidates", "tfidf,finetune",
                 "--max-latency-ms", "1000")
    assert result.returncode == 0, result.stderr
    auto = json.loads((root / "no_budget" / "cadre.json").read_text())["auto"]
    assert [r["kind"] for r in auto["table"]] == ["tfidf"]
    assert any(n.startswith("finetune skipped: give --train-budget") for n in auto["notes"])
    assert "finetune skipped" in result.stderr
    result = cli("router", "train", "--data", train, "--output", root / "with_budget", "--candidates",
                 "tfidf,finetune", "--max-latency-ms", "1000", "--train-budget", "120")
    assert result.returncode == 0, result.stderr
    auto = json.loads((root / "with_budget" / "cadre.json").read_text())["auto"]
    rows = {r["kind"]: r for r in auto["table"]}
    assert set(rows) == {"tfidf", "finetune"} and rows["finetune"]["cv_accuracy"] > 0.5
    assert "epochs in" in rows["finetune"]["note"]


@pytest.mark.slow
def test_cadre_serve_routes_with_a_finetuned_router(tiny):
    from cadre.server.stub_upstream import StubThread
    from tests.server.test_hot_path import free_port

    root, train, _ = tiny
    out = root / "served"
    assert cli("router", "train", "--kind", "finetune", "--data", train, "--output", out,
               "--epochs", "1").returncode == 0
    stub = StubThread()
    config = root / "cadre.yaml"
    config.write_text(f"""\
version: 1
router: {{model: router}}
routes: {{chat: {{model: primary}}}}
models:
  - {{name: primary, backend: openai, url: "{stub.url}", capabilities: [primary_chat], pinned: true}}
  - {{name: router, backend: onnx, path: "{out}", capabilities: [intent_classification], priority: 100}}
""")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config), "--port",
                             str(port), "--log-level", "warning"], env={**os.environ, "CADRE_API_KEY": ""},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.time() + 120
        while time.time() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        body = httpx.post(base + "/v1/route", json={"input": "I forgot my pin and now it is blocked"},
                          timeout=60).json()
        assert body["route"] == "pin_blocked" and body["reason"].startswith("finetune pin_blocked")
        assert set(body["scores"]) >= set(CLASSES)
    finally:
        proc.terminate()
        proc.wait(30)
        stub.stop()
