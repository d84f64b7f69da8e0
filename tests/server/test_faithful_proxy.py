"""The faithful proxy through a real `cadre serve` (a subprocess): every parameter of
issue 25's list reaches a recording stub upstream as the client sent it, nothing the
client left out is added, whole requests stay whole upstream; a local model honours
what it can and refuses the rest with a 400 naming the parameter and the model, as the
table in cadre/runtime/params.py (and docs/serve.md) says."""
from __future__ import annotations

import httpx
import pytest

from cadre.runtime.params import CHAT, HONOURED, IGNORED, REFUSED
from tests.server.gateway_proc import KEY, cadre_serve
from tests.server.stub_upstream import StubUpstream

AUTH = {"Authorization": f"Bearer {KEY}"}
# A value for each parameter that an upstream would act on (none is a no-op default).
VALUES = {
    "reasoning_effort": "high", "presence_penalty": 0.5, "frequency_penalty": 0.7, "n": 2, "logprobs": True,
    "top_logprobs": 3, "service_tier": "flex", "store": True, "prediction": {"type": "content", "content": "x"},
    "verbosity": "low", "prompt_cache_key": "conv-1", "safety_identifier": "user-hash-1",
    "modalities": ["text", "audio"], "web_search_options": {"search_context_size": "low"},
    "functions": [{"name": "f", "parameters": {"type": "object", "properties": {}}}], "function_call": "auto",
    "logit_bias": {"42": 5}, "user": "someone", "metadata": {"k": "v"}, "seed": 7, "stop": ["END"],
    "max_completion_tokens": 12, "my_vendor_extension": {"anything": [1, 2]},
}


def local_models(code_dir: str) -> str:
    return f"""\
  - {{name: code, path: "{code_dir}", capabilities: [code_generation], max_context: 256}}
"""


@pytest.fixture(scope="module")
def stub():
    upstream = StubUpstream()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def gateway(stub, tmp_path_factory, tiny_causal_dir):
    with cadre_serve(tmp_path_factory.mktemp("faithful"), stub.url, extra_models=local_models(tiny_causal_dir)) as base:
        yield base


def post(gateway, body: dict) -> httpx.Response:
    return httpx.post(f"{gateway}/v1/chat/completions", headers=AUTH, json=body, timeout=120)


@pytest.mark.parametrize("param", sorted(VALUES))
def test_each_parameter_reaches_the_upstream_as_sent(gateway, stub, param):
    out = post(gateway, {"model": "stub-gpt", "messages": [{"role": "user", "content": "hi"}], param: VALUES[param]})
    assert out.status_code == 200, out.text
    sent = stub.requests[-1]
    assert sent[param] == VALUES[param]
    assert "max_tokens" not in sent and "temperature" not in sent and "top_p" not in sent
    assert not sent.get("stream")  # whole stays whole


def test_nothing_the_client_left_out_is_added_and_no_cap_on_max_tokens(gateway, stub):
    out = post(gateway, {"model": "auto", "messages": [{"role": "user", "content": "hello there"}]})
    assert out.status_code == 200, out.text
    sent = stub.requests[-1]
    assert set(sent) == {"model", "messages"}, sent  # no max_tokens 256, no temperature 0.0
    out = post(gateway, {"model": "stub-gpt", "max_tokens": 100_000, "temperature": 1.3,
                         "messages": [{"role": "user", "content": "long"}]})
    assert out.status_code == 200, out.text
    assert (stub.requests[-1]["max_tokens"], stub.requests[-1]["temperature"]) == (100_000, 1.3)


def test_a_whole_request_with_seed_stop_and_tools_is_asked_whole_with_the_upstreams_usage(gateway, stub):
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    out = post(gateway, {"model": "stub-gpt", "messages": [{"role": "user", "content": "weather?"}],
                         "seed": 1, "stop": "END", "tools": [tool]})
    assert out.status_code == 200, out.text
    assert not stub.requests[-1].get("stream") and "stream_options" not in stub.requests[-1]
    body = out.json()
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}
    assert body["model"] == "stub-gpt" and body["choices"][0]["message"]["content"] is None
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_a_stream_gets_the_upstreams_chunks_and_usage_only_when_asked(gateway, stub):
    with httpx.stream("POST", f"{gateway}/v1/chat/completions", headers=AUTH, timeout=60, json={
            "model": "stub-gpt", "messages": [{"role": "user", "content": "a b c"}], "stream": True,
            "logprobs": True}) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert stub.requests[-1]["logprobs"] is True and stub.requests[-1]["stream"] is True
    assert lines[-1] == "data: [DONE]" and not any('"usage": {' in line for line in lines)
    text = "".join(__import__("json").loads(line[5:])["choices"][0]["delta"].get("content") or ""
                   for line in lines[:-1])
    assert text == "stub answer to: a b c"


@pytest.mark.parametrize("param", sorted(VALUES))
def test_a_local_model_honours_or_refuses_each_parameter_as_the_table_says(gateway, param):
    out = post(gateway, {"model": "code", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}],
                         param: VALUES[param]})
    kind = CHAT.get(param, (REFUSED,))[0]
    if kind in (HONOURED, IGNORED):
        assert out.status_code == 200, out.text
        return
    assert out.status_code == 400, out.text
    error = out.json()["error"]
    assert error["param"] == param and param in error["message"] and "'code'" in error["message"]


def test_a_local_model_accepts_the_no_op_values_clients_send_anyway(gateway):
    out = post(gateway, {"model": "code", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}],
                         "n": 1, "logprobs": False, "store": False, "logit_bias": {}, "presence_penalty": 0})
    assert out.status_code == 200, out.text


def test_the_docs_table_lists_every_parameter_as_the_code_treats_it():
    from pathlib import Path

    from cadre.runtime.params import RESPONSES

    doc = (Path(__file__).parents[2] / "docs" / "serve.md").read_text()
    for name, (kind, _, _) in CHAT.items():
        assert f"| `{name}` | " in doc and f"| {kind} |" in doc.split(f"| `{name}` | ", 1)[1].split("\n", 1)[0], name
    for name in RESPONSES:
        assert f"| `{name}` | " in doc, name


def test_a_local_model_gives_n_choices_whole_and_refuses_n_streamed(gateway):
    out = post(gateway, {"model": "code", "max_tokens": 4, "n": 3, "messages": [{"role": "user", "content": "hi"}]})
    assert out.status_code == 200, out.text
    body = out.json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2] and body["model"] == "code"
    one = post(gateway, {"model": "code", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]}).json()
    assert body["usage"]["completion_tokens"] == 3 * one["usage"]["completion_tokens"]  # greedy: three alike
    assert {c["message"]["content"] for c in body["choices"]} == {one["choices"][0]["message"]["content"]}
    streamed = post(gateway, {"model": "code", "max_tokens": 4, "n": 2, "stream": True,
                              "messages": [{"role": "user", "content": "hi"}]})
    assert streamed.status_code == 400 and streamed.json()["error"]["param"] == "n"


def test_an_upstream_that_refuses_a_parameter_answers_the_client_with_its_own_400(gateway):
    out = post(gateway, {"model": "stub-gpt", "messages": [{"role": "user", "content": "hi"}], "reject_me": 1})
    assert out.status_code == 400, out.text
    error = out.json()["error"]
    assert error["code"] == "upstream_refused" and "Unrecognized request argument supplied: reject_me" in error["message"]


def test_a_local_model_gives_logprobs_for_each_token_of_a_whole_answer(gateway):
    out = post(gateway, {"model": "code", "max_tokens": 4, "logprobs": True, "top_logprobs": 2,
                         "messages": [{"role": "user", "content": "hi"}]})
    assert out.status_code == 200, out.text
    body = out.json()
    content = body["choices"][0]["logprobs"]["content"]
    assert len(content) == body["usage"]["completion_tokens"] > 0
    assert "".join(t["token"] for t in content) .strip() == body["choices"][0]["message"]["content"].strip()
    for token in content:  # greedy: the chosen token is the likeliest
        assert token["logprob"] <= 0 and len(token["top_logprobs"]) == 2
        assert token["top_logprobs"][0]["logprob"] == token["logprob"]
    streamed = post(gateway, {"model": "code", "max_tokens": 4, "logprobs": True, "stream": True,
                              "messages": [{"role": "user", "content": "hi"}]})
    assert streamed.status_code == 400 and streamed.json()["error"]["param"] == "logprobs"
