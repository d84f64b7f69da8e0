"""Feedback is bound to its caller and the decision log cannot be flooded (issue 23, item 6),
through a real `cadre serve` subprocess over HTTP: feedback needs the token that only the
routed response carried, names only the request's candidates and stops at its cap per id;
a flood with a small rotation size leaves a bounded set of rotated files that retraining
reads across; a torn, huge last line after a restart leaves the dashboard's recent list
with the decisions before it."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.security.serve_proc import CadreServe, tiny_project

MAX_SIZE, KEEP, FLOOD = 20_000, 2, 160
ROTATION = f"decision_log_max_size: {MAX_SIZE}, decision_log_keep: {KEEP}, log_prompts: true"


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_causal_dir, tiny_router_dir):
    root = tmp_path_factory.mktemp("decision_log")
    config = tiny_project(root, tiny_causal_dir, tiny_router_dir, "log_prompts: true")
    state = {"config": config, "server": CadreServe(config), "log": root / "runs" / "gateway" / "decisions.jsonl",
             "models": (tiny_causal_dir, tiny_router_dir)}
    yield state
    state["server"].stop()


def routed(server, text: str = "hello there") -> httpx.Response:
    response = server.post("/v1/chat/completions", {"model": "auto", "max_tokens": 2,
                                                    "messages": [{"role": "user", "content": text}]})
    assert response.status_code == 200, response.text
    return response


def feedback(server, body: dict) -> httpx.Response:
    return server.post("/v1/feedback", body)


def test_feedback_needs_the_callers_token(site):
    server = site["server"]
    mine, theirs = routed(server), routed(server, "good morning")
    rid, token = mine.headers["x-cadre-request-id"], mine.headers["x-cadre-feedback-token"]
    listed = httpx.get(server.base + "/v1/dashboard/traffic", params={"n": 50}).text
    assert rid in listed and token not in listed  # the id is listed, never the token
    assert token not in site["log"].read_text()
    missing = feedback(server, {"id": rid, "score": 0})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "token"
    for wrong in (theirs.headers["x-cadre-feedback-token"], "0" * 32, token[:-1]):
        refused = feedback(server, {"id": rid, "score": 0, "token": wrong})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "invalid_feedback_token"
    ok = feedback(server, {"id": rid, "score": 1, "token": token})
    assert ok.status_code == 200 and ok.json()["model"] == "primary"
    recent = httpx.get(server.base + "/v1/dashboard/traffic", params={"n": 5}).json()["recent"]
    assert next(r for r in recent if r["id"] == rid)["feedback"] == 1.0


def test_feedback_names_only_candidates_is_capped_and_sized(site):
    from cadre.runtime.gateway import decisions

    cap = getattr(decisions, "MAX_FEEDBACK_PER_ID", 8)
    server = site["server"]
    answer = routed(server)
    body = {"id": answer.headers["x-cadre-request-id"], "token": answer.headers.get("x-cadre-feedback-token")}
    for model in ("gpt-5", "x" * 5000, "spare"):
        r = feedback(server, {**body, "score": 1, "model": model})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_feedback", r.text[:200]
    for _ in range(cap):
        assert feedback(server, {**body, "score": 0.5, "model": "primary"}).status_code == 200
    capped = feedback(server, {**body, "score": 1})
    assert capped.status_code == 409 and capped.json()["error"]["code"] == "feedback_limit"
    oversized = feedback(server, {**body, "score": 1, "padding": "y" * 10_000})
    assert oversized.status_code == 400 and "4096 bytes" in oversized.json()["error"]["message"]


@pytest.mark.slow  # about 50 s on 2 busy cores: 160 routed requests and their feedback
def test_a_flood_rotates_into_bounded_files_that_retraining_reads(site):
    from cadre.runtime.gateway.logfiles import log_files, read_log
    from cadre.runtime.gateway.retrain import feedback_rows

    site["server"].stop()  # again with a small rotation size
    site["config"] = tiny_project(site["config"].parent, *site["models"], ROTATION)
    site["server"] = server = CadreServe(site["config"])

    def one(i: int) -> int:
        answer = routed(server, f"hello there number {i}")
        return feedback(server, {"id": answer.headers["x-cadre-request-id"], "score": i % 2,
                                 "token": answer.headers["x-cadre-feedback-token"]}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(FLOOD))) == {200}
    files = log_files(site["log"])
    sizes = [f.stat().st_size for f in files]
    assert len(files) == KEEP + 1 and max(sizes) <= MAX_SIZE and sum(sizes) <= (KEEP + 1) * MAX_SIZE, sizes
    contents = read_log(site["log"])
    current = read_log_only(site["log"])
    assert len(contents.feedback) > current  # the rotated files hold feedback too
    rows, counts = feedback_rows(site["log"], ["primary"], None)  # what `cadre router retrain` reads
    assert counts["feedback"] == len(contents.feedback) and counts["used"] == len(rows) > current


def read_log_only(path) -> int:
    return sum('"type": "feedback"' in line for line in path.read_text().splitlines())


@pytest.mark.slow  # about 25 s: a restart of the server
def test_a_torn_huge_last_line_after_a_restart_leaves_the_recent_list(site):
    server = site["server"]
    before = routed(server, "the last whole record")
    rid, token = before.headers["x-cadre-request-id"], before.headers.get("x-cadre-feedback-token")
    server.stop()
    with site["log"].open("ab") as f:  # a crash in the middle of a 2 MB record
        f.write(b'{"type": "decision", "id": "req-torn", "prompt": "' + b"9" * (2 << 20))
    site["server"] = server = CadreServe(site["config"])
    recent = httpx.get(server.base + "/v1/dashboard/traffic", params={"n": 5}).json()["recent"]
    assert recent and recent[0]["id"] == rid, recent[:1]
    assert len(recent) == 5
    ok = feedback(server, {"id": rid, "score": 1, "token": token})  # the token outlives the restart
    assert ok.status_code == 200, ok.text
    routed(server)  # the torn line is ended; the next record starts on a line of its own
