"""`cadre router collect` against real backends: OpenAI-compatible HTTP servers started
here on 127.0.0.1 (one mostly right and dear, one often wrong and cheap, one that fails)
and the real SmolLM2 through the local backend. Scores, costs (tokens × price), resume
(the server counts calls), crash recovery, per-row failures, and the CLI."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from cadre.config import ModelEntry, ProjectConfig, RuntimeSettings
from cadre.data.routing_tables import read_routing_table
from cadre.errors import CadreError
from cadre.collect.collector import CollectSettings, collect
from cadre.collect.files import row_id

PRICES = {"good": 0.03, "cheap": 0.001, "down": 0.5}
CODE = {"add": "a + b", "mul": "a * b"}


def arithmetic(a: int, b: int, model: str) -> int:
    """The servers' answers: good errs when a % 5 == 0, cheap when a + b is odd."""
    if model == "good":
        return a + b + (10 if a % 5 == 0 else 0)
    return a + b + (1 if (a + b) % 2 else 0)


def grade(prompt: str) -> str:
    """The LLM-judge reply: full marks when the graded answer's number is the reference's."""
    ref = re.search(r"Reference answer:\n(.*?)\n\nAnswer to grade", prompt, re.S).group(1)
    ans = re.search(r"Answer to grade:\n(.*?)\n\nIs the answer", prompt, re.S).group(1)
    same = re.findall(r"\d+", ref)[-1:] == re.findall(r"\d+", ans)[-1:]
    return f"Score: {10 if same else 0}"


def reply(model: str, prompt: str) -> str:
    if prompt.startswith("You are grading"):
        return grade(prompt)
    func = re.search(r"function (\w+)\(", prompt)
    if func:
        body = CODE[func.group(1)] if model == "good" else "a - b"
        return f"Here you go:\n```python\ndef {func.group(1)}(a, b):\n    return {body}\n```"
    a, b = map(int, re.findall(r"\d+", prompt)[:2])
    return f"The answer is {arithmetic(a, b, model)}."


class Handler(BaseHTTPRequestHandler):
    """/good/v1, /cheap/v1 answer (usage = words); /down/v1 always fails with HTTP 500."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        srv, model = self.server, self.path.split("/")[1]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        with srv.lock:
            key = "judge" if prompt.startswith("You are grading") else model
            srv.hits[key] = srv.hits.get(key, 0) + 1
        if model == "down":
            return self._send(500, {"error": {"message": "upstream exploded"}})
        text = reply(model, prompt)
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
        with srv.lock:
            srv.usage[(model, prompt)] = usage
        self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                      "finish_reason": "stop"}], "usage": usage})

    def _send(self, status, obj):
        payload = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.hits, srv.usage, srv.lock, srv.daemon_threads = {}, {}, threading.Lock(), True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def remote(srv, name):
    return ModelEntry(name=name, backend="openai", url=f"http://127.0.0.1:{srv.server_address[1]}/{name}/v1",
                      capabilities=["primary_chat"], cost_per_1k_tokens=PRICES[name],
                      options={"retries": 0, "timeout_s": 10})


def project(srv, names=("good", "cheap", "down")):
    return ProjectConfig(models=[remote(srv, n) for n in names])


def pairs(n=12):
    return [(i + 1, (i * 7) % 11 + 1) for i in range(n)]


def write_questions(path, n=12, extra=()):
    rows = [{"question": f"Tom has {a} apples and buys {b} more. How many now?",
             "answer": f"He has {a} + {b} = {a + b} apples.\n#### {a + b}", "split": "train" if i % 3 else "test"}
            for i, (a, b) in enumerate(pairs(n))]
    path.write_text("".join(json.dumps(r) + "\n" for r in [*rows, *extra]))
    return rows


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scores_costs_and_a_failing_endpoint(server, tmp_path):
    data, out = tmp_path / "q.jsonl", tmp_path / "evals.jsonl"
    rows = write_questions(data, extra=[{"question": "  ", "answer": "1"}, {"question": "no reference here"}])
    summary = collect(data, out, CollectSettings(["good", "cheap", "down"], "numeric", concurrency=3),
                      config=project(server))
    assert summary.input["empty_prompts"] == 1 and summary.input["missing_references"] == 1
    assert summary.rows_written == 12 and summary.calls == 36 and server.hits == {"good": 12, "cheap": 12, "down": 12}
    table = read_routing_table(out, ["good", "cheap", "down"])
    assert table.report.rows_kept == 12 and table.report.missing_scores == 12  # "down" is masked on every row
    for row, (a, b), src in zip(table.rows, pairs(), rows):
        assert row.prompt == src["question"] and row.extra["split"] == src["split"] and row.extra["answer"] == src["answer"]
        for m in ("good", "cheap"):
            assert row.scores[m] == float(arithmetic(a, b, m) == a + b)
            usage = server.usage[(m, row.prompt)]
            assert row.costs[m] == pytest.approx((usage["prompt_tokens"] + usage["completion_tokens"]) / 1000 * PRICES[m])
            assert row.extra["model_tokens"][m] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert "down" not in row.costs and "HTTP 500" in row.extra["model_errors"]["down"]
    assert {s for r in table.rows for s in r.scores.values()} == {0.0, 1.0}
    assert summary.per_model["down"].errors == 12 and summary.rows_with_errors == 12
    good = summary.per_model["good"]
    assert good.calls == 12 and good.scored == 12 and good.cost == pytest.approx(sum(r.costs["good"] for r in table.rows))
    assert not (tmp_path / "evals.jsonl.journal").exists()
    assert all(line["model_scores"]["down"] is None for line in lines(out))


def test_resume_skips_done_rows_and_retries_errors_on_request(server, tmp_path):
    data, out = tmp_path / "q.jsonl", tmp_path / "evals.jsonl"
    write_questions(data)
    config, models = project(server), ["good", "cheap", "down"]
    first = collect(data, out, CollectSettings(models, "numeric", limit=4), config=config)
    assert first.rows_written == 4 and server.hits == {"good": 4, "cheap": 4, "down": 4}
    second = collect(data, out, CollectSettings(models, "numeric"), config=config)
    assert second.calls == 24 and second.resumed == 12 and server.hits == {"good": 12, "cheap": 12, "down": 12}
    third = collect(data, out, CollectSettings(models, "numeric", concurrency=2), config=config)
    assert third.calls == 0 and third.resumed == 36 and server.hits["good"] == 12
    assert third.rows_with_errors == 12  # the earlier failures are still reported
    retry = collect(data, out, CollectSettings(models, "numeric", retry_errors=True), config=config)
    assert retry.calls == 12 and server.hits == {"good": 12, "cheap": 12, "down": 24}
    assert [r["prompt"] for r in lines(out)] == [json.loads(x)["question"] for x in data.read_text().splitlines()]


def _settled(hits: dict, quiet_s: float = 0.5, limit_s: float = 10.0) -> dict:
    """The stub's hit counts once no request has arrived for `quiet_s` (bounded wait)."""
    import time

    deadline, last = time.monotonic() + limit_s, dict(hits)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        if dict(hits) == last:
            break
        last = dict(hits)
    return last


def test_an_interrupted_run_resumes_from_its_journal_even_with_a_torn_line(server, tmp_path):
    data, out = tmp_path / "q.jsonl", tmp_path / "evals.jsonl"
    write_questions(data)
    journal, seen = tmp_path / "evals.jsonl.journal", []

    def crash(result):
        seen.append(result)
        if len(seen) == 5:
            raise KeyboardInterrupt

    settings = CollectSettings(["good", "cheap"], "numeric", concurrency=1)
    with pytest.raises(KeyboardInterrupt):
        collect(data, out, settings, config=project(server), on_result=crash)
    assert not out.exists() and len(lines(journal)) == 1 + 5  # header + five results
    with journal.open("a") as f:
        f.write('{"row_id": "sha256:abc", "model": "go')  # a crash in the middle of a write
    before = _settled(server.hits)  # the interrupted run's call in flight lands before we count
    summary = collect(data, out, settings, config=project(server))
    assert summary.torn_journal_lines == 1 and summary.resumed == 5 and summary.calls == 19
    assert sum(server.hits.values()) - sum(before.values()) == 19
    table = read_routing_table(out, ["good", "cheap"])
    assert table.report.rows_kept == 12 and table.report.missing_scores == 0 and not journal.exists()
    with pytest.raises(CadreError, match="judged with 'numeric'"):
        journal.write_text(json.dumps({"journal": "cadre-collect", "format": 1, "judge": "numeric"}) + "\n")
        collect(data, out, CollectSettings(["good"], "exact"), config=project(server))


def test_code_judge_on_mbpp_rows_and_an_llm_judge(server, tmp_path):
    data, out = tmp_path / "mbpp.jsonl", tmp_path / "evals.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in [
        {"task_id": 7, "text": "Write a python function add(a, b) returning the sum.",
         "test_list": ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]},
        {"task_id": 9, "text": "Write a python function mul(a, b) returning the product.",
         "test_list": ["assert mul(2, 3) == SIX"], "test_setup_code": "SIX = 6"}]))
    settings = CollectSettings(["good", "cheap"], "code", template="{text}\nYour code should pass:\n{test_list}",
                               id_column="task_id", keep_answers=True)
    summary = collect(data, out, settings, config=project(server, ("good", "cheap")))
    got = lines(out)
    assert [r["task_id"] for r in got] == [7, 9] and summary.rows_with_errors == 0
    assert got[0]["prompt"].endswith("pass:\nassert add(2, 3) == 5\nassert add(-1, 1) == 0") and "text" in got[0]
    with pytest.raises(CadreError, match=r"mbpp.jsonl:1: the prompt template names column 'tests'"):
        collect(data, out, CollectSettings(["good"], "code", template="{text} {tests}"), config=project(server))
    assert all(r["model_scores"] == {"good": 1.0, "cheap": 0.0} for r in got)
    assert "def mul" in got[1]["model_answers"]["good"] and row_id(got[0], got[0]["prompt"], "task_id") == "task_id:7"
    assert collect(data, out, settings, config=project(server, ("good", "cheap"))).calls == 0
    math, judged = tmp_path / "q.jsonl", tmp_path / "judged.jsonl"
    write_questions(math, n=6)
    collect(math, judged, CollectSettings(["good", "cheap"], "llm:good"), config=project(server, ("good", "cheap")))
    assert server.hits["judge"] == 12
    for row, (a, b) in zip(lines(judged), pairs(6)):
        assert row["model_scores"] == {m: float(arithmetic(a, b, m) == a + b) for m in ("good", "cheap")}


def test_the_real_smollm2_through_the_local_backend(tmp_path):
    import torch

    torch.set_num_threads(1)
    data, out = tmp_path / "q.jsonl", tmp_path / "evals.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": 1, "prompt": "What is the capital of France? Answer with one word.", "answer": "Paris"},
        {"id": 2, "prompt": "What is 2 + 2? Answer with a number only.", "answer": "4"}]))
    config = ProjectConfig(models=[ModelEntry(name="smollm2", path="smollm2-135m-instruct", memory_mb=600,
                                              capabilities=["primary_chat"], cost_per_1k_tokens=0.002)],
                           runtime=RuntimeSettings(memory_budget="4GB"))
    summary = collect(data, out, CollectSettings(["smollm2"], "exact", max_tokens=6, keep_answers=True), config=config)
    tally = summary.per_model["smollm2"]
    assert tally.calls == 2 and tally.errors == 0 and tally.estimated_usage == 0
    assert tally.prompt_tokens > 10 and 0 < tally.completion_tokens <= 12
    for row in lines(out):
        tokens = row["model_tokens"]["smollm2"]
        assert row["model_costs"]["smollm2"] == pytest.approx(tokens / 1000 * 0.002)
        assert row["model_scores"]["smollm2"] in (0.0, 1.0) and row["model_answers"]["smollm2"].strip()
        assert row["model_scores"]["smollm2"] == float(row["model_answers"]["smollm2"].strip(" .\n").lower()
                                                        == row["answer"].lower())


def test_cli_errors_then_a_table_that_fit_learned_trains_on(server, tmp_path, monkeypatch):
    from cadre.cli.main import app

    monkeypatch.setenv("CADRE_CACHE", str(tmp_path / "cache"))
    port = server.server_address[1]
    config = tmp_path / "cadre.yaml"
    config.write_text("models:\n" + "".join(
        f"  - {{name: {n}, backend: openai, url: 'http://127.0.0.1:{port}/{n}/v1', capabilities: [primary_chat],"
        f" cost_per_1k_tokens: {PRICES[n]}, options: {{retries: 0}}}}\n" for n in ("good", "cheap", "down")))
    data, out = tmp_path / "q.jsonl", tmp_path / "evals.jsonl"
    write_questions(data, n=16)
    runner = CliRunner()
    base = ["router", "collect", "--data", str(data), "--output", str(out), "--config", str(config)]
    bad = runner.invoke(app, base + ["--models", "good,gpt-9", "--judge", "numeric"])
    assert bad.exit_code == 2 and "unknown model gpt-9; registry models: good, cheap, down" in bad.output
    bad = runner.invoke(app, base + ["--models", "good", "--judge", "vibes"])
    assert bad.exit_code == 2 and "unknown judge 'vibes'" in bad.output and "llm:MODEL" in bad.output
    bad = runner.invoke(app, base + ["--models", "good", "--judge", "llm:oracle"])
    assert bad.exit_code == 2 and "llm:oracle" in bad.output and not out.exists() and not server.hits
    ok = runner.invoke(app, base + ["--models", "good,cheap,down", "--judge", "numeric", "--concurrency", "4",
                                    "--json", "--max-tokens", "32"])
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.stdout)
    assert summary["rows_written"] == 16 and summary["per_model"]["down"]["errors"] == 16
    assert summary["per_model"]["good"]["mean_score"] == pytest.approx(13 / 16)  # a = 5, 10, 15 are wrong
    text = runner.invoke(app, base + ["--models", "good,cheap", "--judge", "numeric", "--no-progress"])
    assert text.exit_code == 0 and "(0 calls, 32 resumed)" in text.output
    fit = runner.invoke(app, ["router", "fit-learned", "--data", str(out), "--output", str(tmp_path / "router"),
                              "--kind", "knn", "--models", "good,cheap", "--folds", "2"])
    assert fit.exit_code == 0, fit.output
    meta = json.loads((tmp_path / "router" / "cadre.json").read_text())
    assert meta["models"] == ["good", "cheap"] and meta["train_rows"] == 16
    assert meta["costs"]["good"] > meta["costs"]["cheap"] > 0
