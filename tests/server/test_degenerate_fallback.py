"""The degenerate-answer fallback over HTTP, through a real `cadre serve` (a subprocess) and
the openai client: a specialist that answers empty or degenerate text is replaced by the
primary's answer, whole and streamed, and the reason (x-cadre-route) says so. On the old
tree only `Engine.chat()` had it; no HTTP request ever reached it (issue 24)."""
from __future__ import annotations

import openai
import pytest

from tests.server.gateway_proc import KEY, cadre_serve
from tests.server.stub_upstream import StubUpstream

ASK = [{"role": "user", "content": "write a python function to add two numbers"}]


def specialists(url: str) -> str:
    """Two code specialists on the same stub: `babbler` repeats one word, `mute` says nothing."""
    return f"""\
  - {{name: babbler, backend: openai, url: "{url}", capabilities: [code_generation], force: true,
     options: {{retries: 0}}}}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(the stub upstream, the openai client of a `cadre serve` in front of it)."""
    upstream = StubUpstream()
    try:
        with cadre_serve(tmp_path_factory.mktemp("fallback"), upstream.url, specialists(upstream.url)) as base:
            yield upstream, openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0, timeout=60)
    finally:
        upstream.stop()


@pytest.fixture(scope="module")
def stub(served):
    return served[0]


@pytest.fixture(scope="module")
def client(served):
    return served[1]


def _upstream_models(stub) -> list[str]:
    return [body.get("model") for body in stub.requests]


def test_a_degenerate_specialist_answer_is_replaced_whole(client, stub):
    stub.requests.clear()
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=ASK)
    reply, route = raw.parse(), raw.headers["x-cadre-route"]
    assert _upstream_models(stub) == ["babbler", "stub-gpt"]  # the specialist answered, then the primary
    assert reply.model == "stub-gpt", route
    assert reply.choices[0].message.content == "stub answer to: write a python function to add two numbers"
    assert "babbler" in route and route.endswith("degenerate answer -> primary"), route


def test_a_degenerate_specialist_answer_is_replaced_streamed(client, stub):
    stub.requests.clear()
    with client.chat.completions.with_streaming_response.create(model="auto", messages=ASK, stream=True) as raw:
        route = raw.headers["x-cadre-route"]
        chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert _upstream_models(stub) == ["babbler", "stub-gpt"]
    assert {c.model for c in chunks} == {"stub-gpt"}  # not one babbled word reached the client
    assert text == "stub answer to: write a python function to add two numbers"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert route.endswith("degenerate answer -> primary"), route


def test_an_empty_specialist_answer_is_replaced(stub, tmp_path_factory):
    mute = specialists(stub.url).replace("options: {retries: 0}", "options: {retries: 0, model: mute}")
    with cadre_serve(tmp_path_factory.mktemp("mute"), stub.url, extra_models=mute) as base:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0, timeout=60)
        for stream in (False, True):
            stub.requests.clear()
            raw = client.chat.completions.with_raw_response.create(model="auto", messages=ASK, stream=stream)
            route = raw.headers["x-cadre-route"]
            if stream:
                chunks = [c for c in raw.parse() if c.choices]
                text, model = "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1].model
            else:
                reply = raw.parse()
                text, model = reply.choices[0].message.content, reply.model
            assert _upstream_models(stub) == ["mute", "stub-gpt"], stream
            assert model == "stub-gpt" and text.startswith("stub answer to:"), (stream, text)
            assert route.endswith("empty answer -> primary"), route


def test_a_named_specialist_is_not_replaced(client, stub):
    """Only a routed answer falls back: a client that names the model gets that model's words."""
    stub.requests.clear()
    reply = client.chat.completions.create(model="babbler", messages=ASK)
    assert reply.model == "babbler" and reply.choices[0].message.content.startswith("the the")
    assert _upstream_models(stub) == ["babbler"]
