"""A real `cadre serve` (subprocess) in front of three stub upstreams, driven by the official
openai client: learned routing by the router's own policy, virtual budget names, headers,
failover with a killed and a 500-ing upstream, cool-downs, streams, the decision log and
feedback (with its bad inputs)."""
from __future__ import annotations

import json
import re
import subprocess

import httpx
import openai
import pytest


def _load_helpers():
    """This folder's conftest.py as a module (tests is not a package; import-mode=importlib)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("gateway_helpers", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_h = _load_helpers()
MATH_PROMPT, OTHER_PROMPT, ServeProcess, cadre_cmd, project_yaml = (
    _h.MATH_PROMPT, _h.OTHER_PROMPT, _h.ServeProcess, _h.cadre_cmd, _h.project_yaml)

pytestmark = pytest.mark.slow  # about 70 s: a `cadre serve` process and a `cadre route` one

GATEWAY = "allowed_fails: 2, fail_window_s: 60, cooldown_s: 300, decision_log: runs/decisions.jsonl"


@pytest.fixture(scope="module")
def served(tmp_path_factory, learned_dir, stubs):
    root = tmp_path_factory.mktemp("gateway_serve")
    config = root / "cadre.yaml"
    config.write_text(project_yaml(learned_dir, stubs, GATEWAY))
    server = ServeProcess(config)
    yield {"server": server, "log": root / "runs" / "decisions.jsonl", "root": root}
    server.stop()


@pytest.fixture(scope="module")
def client(served):
    return openai.OpenAI(base_url=f"{served['server'].base}/v1", api_key="none", max_retries=0, timeout=60)


def ask(client, prompt: str, model: str = "auto"):
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": prompt}], max_tokens=16)
    return raw.parse(), raw.headers


def test_auto_sends_each_prompt_to_the_model_the_routers_policy_picks(client, healthy):
    math, headers = ask(client, MATH_PROMPT)
    assert math.model == "alpha" and math.choices[0].message.content == "alpha: ok"
    assert "max P" in headers["x-cadre-route"] and "alpha" in headers["x-cadre-route"]
    assert abs(float(headers["x-cadre-cost"]) - 0.001) < 2e-4
    assert headers["x-cadre-request-id"].startswith("req-")
    assert (math.usage.prompt_tokens, math.usage.completion_tokens) == (10, 4)  # the upstream's own
    other, _ = ask(client, OTHER_PROMPT)
    assert other.model == "beta"  # not gamma, which has the highest P(correct) for everything


def test_the_engine_and_cadre_route_agree(served, learned_dir, healthy):
    routed = httpx.post(f"{served['server'].base}/v1/route", json={"input": OTHER_PROMPT}, timeout=60).json()
    out = subprocess.run(cadre_cmd("route", str(learned_dir), OTHER_PROMPT, "--json"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["name"] == routed["route"] == "beta"


def test_virtual_budget_names_pick_an_operating_point(client, healthy):
    names = [m.id for m in client.models.list().data]
    learned = [n for n in names if n.startswith("router-learned-")]
    assert learned, names
    cheap, headers = ask(client, OTHER_PROMPT, model="router-learned-0.0001")
    assert cheap.model == "alpha"  # a budget below every price leaves only the cheapest model
    rich, _ = ask(client, OTHER_PROMPT, model=learned[0])
    assert rich.model == "beta"


def test_a_stream_cut_after_its_first_byte_ends_with_a_clean_error_event(served, healthy):
    healthy["alpha"].mode = "truncated"
    body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": MATH_PROMPT}]}
    with httpx.stream("POST", f"{served['server'].base}/v1/chat/completions", json=body, timeout=60) as r:
        assert r.status_code == 200
        events = [line[5:].strip() for line in r.iter_lines() if line.startswith("data:")]
    assert events[-1] == "[DONE]"
    payloads = [json.loads(e) for e in events[:-1]]
    assert any(p.get("choices") and p["choices"][0]["delta"].get("content") == "alpha:" for p in payloads)
    error = payloads[-1]["error"]  # the model by name; the upstream's address stays in the server log
    assert error["code"] == "backend_error" and "'alpha'" in error["message"] and "http" not in error["message"]


def test_a_500ing_upstream_hands_a_stream_to_the_next_model(client, healthy):
    healthy["alpha"].mode = "500"
    stream = client.chat.completions.create(model="auto", stream=True, max_tokens=16,
                                            messages=[{"role": "user", "content": MATH_PROMPT}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[0].model != "alpha" and text == f"{chunks[0].model}: ok"
    _, headers = ask(client, MATH_PROMPT)  # alpha's second failure: it cools down
    assert "alpha failed (" in headers["x-cadre-route"] and "HTTP 500" in headers["x-cadre-route"]
    hits = healthy["alpha"].hits
    third, headers = ask(client, MATH_PROMPT)
    assert healthy["alpha"].hits == hits and "failed" not in headers["x-cadre-route"]  # skipped
    assert third.model != "alpha"


def test_a_killed_upstream_fails_over_and_only_all_failing_is_an_error(served, client, healthy):
    healthy["beta"].stop()
    answer, headers = ask(client, OTHER_PROMPT)
    assert answer.model != "beta" and "beta failed" in headers["x-cadre-route"]
    assert "refused" in headers["x-cadre-route"]
    for stub in healthy.values():
        stub.mode = "malformed"
    with pytest.raises(openai.APIStatusError) as err:
        ask(client, MATH_PROMPT)
    assert err.value.status_code == 502
    assert "no candidate model could answer" in err.value.body["message"]
    metrics = httpx.get(f"{served['server'].base}/metrics").text  # the failovers, as Prometheus sees them
    fallbacks = re.search(r'cadre_engine_count\{kind="gateway_fallbacks"\} ([0-9.]+)', metrics)
    assert fallbacks and float(fallbacks.group(1)) >= 4, metrics[-2000:]


def test_every_routed_request_is_logged_and_takes_feedback(served, client, healthy):
    from cadre.runtime.gateway.decisions import read_log

    answer, headers = ask(client, OTHER_PROMPT)  # beta may be cooling down after the tests above
    rid = headers["x-cadre-request-id"]
    log = served["log"]
    record = next(r for r in read_log(log).decisions if r["id"] == rid)
    assert record["model"] == answer.model and record["status"] == "ok" and "prompt" not in record
    assert set(record["candidates"]) == {"alpha", "beta", "gamma"} and record["tokens"]["prompt"] == 10
    assert len(record["prompt_sha256"]) == 64
    base = served["server"].base
    token = headers["x-cadre-feedback-token"]
    ok = httpx.post(f"{base}/v1/feedback", json={"id": rid, "token": token, "score": 1}).json()
    assert ok == {"object": "feedback", "id": rid, "score": 1.0, "model": answer.model}
    unknown = httpx.post(f"{base}/v1/feedback", json={"id": "req-nope", "token": token, "score": 1})
    assert unknown.status_code == 404 and "unknown request id" in unknown.json()["error"]["message"]
    for bad in (1.5, -0.1, "high", True):
        r = httpx.post(f"{base}/v1/feedback", json={"id": rid, "token": token, "score": bad})
        assert r.status_code == 400 and r.json()["error"]["param"] == "score"
    before = log.read_bytes()
    with log.open("ab") as f:  # a crash in the middle of a write
        f.write(b'{"type": "decision", "id": "req-torn", "ti')
    _, headers = ask(client, MATH_PROMPT)
    assert httpx.post(f"{base}/v1/feedback", json={"id": headers["x-cadre-request-id"], "score": 0.5,
                                                   "token": headers["x-cadre-feedback-token"]}).status_code == 200
    contents = read_log(log)
    assert len(contents.bad_lines) == 1 and log.read_bytes().startswith(before)
    assert [f["id"] for f in contents.feedback][-2:] == [rid, headers["x-cadre-request-id"]]


def test_the_dashboard_lists_the_logged_decisions_with_their_feedback(served, client, healthy):
    _, headers = ask(client, OTHER_PROMPT)
    rid = headers["x-cadre-request-id"]
    base = served["server"].base
    assert httpx.post(f"{base}/v1/feedback", json={"id": rid, "score": 0.25,
                                                   "token": headers["x-cadre-feedback-token"]}).status_code == 200
    recent = httpx.get(f"{base}/v1/dashboard/traffic", params={"n": 5}).json()["recent"]
    newest = recent[0]
    assert newest["id"] == rid and newest["feedback"] == 0.25 and newest["route"] is not None
    assert newest["model"] in {"alpha", "beta", "gamma"} and newest["latency_ms"] > 0
