"""Proxying through a real `cadre serve` (a subprocess) in front of a real stub upstream
that answers with native tool_calls (tests/server/stub_upstream.py), driven by the
official openai client: usage, model names, passthrough of response_format / tool_choice /
stop / seed, tool-call deltas, routing that tools do not skip, no-op fields, /v1/models
and /v1/embeddings."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.server.gateway_proc import KEY, cadre_serve, project
from tests.server.stub_upstream import StubUpstream

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.fixture(scope="module")
def stub():
    upstream = StubUpstream()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def gateway(stub, tmp_path_factory):
    with cadre_serve(tmp_path_factory.mktemp("proxy"), stub.url) as base:
        yield base


@pytest.fixture(scope="module")
def client(gateway):
    import openai

    return openai.OpenAI(base_url=f"{gateway}/v1", api_key=KEY, max_retries=0, timeout=60)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_usage_and_model_are_the_upstreams_whole_and_streamed(client):
    answer = client.chat.completions.create(model="auto", messages=user("hello there"))
    assert answer.model == "stub-gpt"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (10, 4)
    assert answer.choices[0].message.content == "stub answer to: hello there"
    chunks = list(client.chat.completions.create(model="stub-gpt", messages=user("hello there"), stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "stub answer to: hello there"
    assert chunks[-1].usage.prompt_tokens == 10 and chunks[-1].usage.completion_tokens == 4


def test_fields_pass_through_to_the_upstream(client, stub):
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
              "required": ["city", "days"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "trip", "schema": schema, "strict": True}}
    answer = client.chat.completions.create(model="auto", messages=user("plan a trip"), response_format=fmt,
                                            seed=7, stop=["END"])
    assert json.loads(answer.choices[0].message.content) == {"city": "Paris", "days": 3}
    sent = stub.requests[-1]
    assert sent["response_format"] == fmt and sent["seed"] == 7 and sent["stop"] == ["END"]
    answer = client.chat.completions.create(model="auto", messages=user("json please"),
                                            response_format={"type": "json_object"})
    assert json.loads(answer.choices[0].message.content) == {"answer": "json please"}


def test_tools_and_tool_choice_reach_the_upstream_natively(client, stub):
    choice = {"type": "function", "function": {"name": "get_weather"}}
    answer = client.chat.completions.create(model="auto", messages=user("weather in Paris?"), tools=[WEATHER],
                                            tool_choice=choice)
    sent = stub.requests[-1]
    assert sent["tools"] == [WEATHER] and sent["tool_choice"] == choice
    assert "<tools>" not in json.dumps(sent["messages"])  # not inlined into a prompt
    call = answer.choices[0].message.tool_calls[0]
    assert answer.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"} and call.id == "call_stub11"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (10, 4)
    # the tool's result goes back; the upstream answers in text
    follow = client.chat.completions.create(model="auto", tools=[WEATHER], messages=[
        *user("weather in Paris?"), {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    assert follow.choices[0].message.content == "The tool said: sunny"


def test_streamed_tool_calls_arrive_as_deltas(client):
    chunks = list(client.chat.completions.create(model="auto", messages=user("weather in Paris?"),
                                                 tools=[WEATHER], tool_choice="required", stream=True,
                                                 stream_options={"include_usage": True}))
    deltas = [d for c in chunks if c.choices for d in (c.choices[0].delta.tool_calls or [])]
    assert len(deltas) == 3  # id + name, then the arguments in two pieces, as the upstream sent them
    assert deltas[0].id == "call_stub11" and deltas[0].function.name == "get_weather"
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == {"city": "Paris"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage.completion_tokens == 4


def test_tools_do_not_skip_routing(client, stub):
    before = len(stub.requests)
    answer = client.chat.completions.with_raw_response.create(model="auto", messages=user("what is 17 times 23?"),
                                                              tools=[WEATHER])
    body = answer.parse()
    assert body.choices[0].message.content.endswith("391") and body.model == "tool:solve_math"
    assert "solve_math" in answer.headers["x-cadre-route"]
    assert len(stub.requests) == before  # sympy answered; the upstream was not asked
    forced = client.chat.completions.create(model="auto", messages=user("what is 17 times 23?"), tools=[WEATHER],
                                            tool_choice="required")
    assert forced.choices[0].message.tool_calls and forced.model == "stub-gpt"


def test_an_upstream_that_ignores_a_forced_tool_choice_is_an_error_not_a_stop(client):
    import openai

    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="auto", messages=user("please ignore your tools"), tools=[WEATHER],
                                       tool_choice="required")
    assert caught.value.status_code == 502 and "tool_choice requires" in caught.value.message
    stream = client.chat.completions.create(model="auto", messages=user("please ignore your tools"), tools=[WEATHER],
                                            tool_choice="required", stream=True)
    with pytest.raises(openai.APIError) as caught:
        list(stream)
    assert "tool_choice requires" in str(caught.value)


def test_a_truncated_upstream_stream_is_a_clear_error(client):
    import openai

    # a whole answer is asked of the upstream whole, so only a streamed request meets the cut
    with pytest.raises(openai.APIError) as caught:
        list(client.chat.completions.create(model="auto", messages=user("please cut the stream"), stream=True))
    assert "truncated" in str(caught.value)


def test_max_tokens_cut_is_length_with_tools_too(client):
    answer = client.chat.completions.create(model="auto", messages=user("one two three four five six"),
                                            tools=[WEATHER], tool_choice="none", max_tokens=3)
    assert answer.choices[0].finish_reason == "length"
    assert answer.choices[0].message.content == "stub answer to:"
    assert answer.usage.completion_tokens == 4


def test_no_op_fields_are_accepted(client):
    answer = client.chat.completions.create(model="auto", messages=user("hi"), logprobs=False, store=False,
                                            logit_bias={}, response_format={"type": "text"})
    assert answer.choices[0].message.content == "stub answer to: hi"


def test_models_lists_every_name_a_response_can_carry(client):
    ids = {m.id for m in client.models.list().data}
    assert {"stub-gpt", "auto", "tool:solve_math", "all-minilm-l6-v2"} <= ids


def test_embeddings_come_from_the_packaged_minilm(client):
    out = client.embeddings.create(model="all-minilm-l6-v2", input=["a cat sat", "a cat sat down", "tax law"])
    vectors = [d.embedding for d in out.data]
    assert len(vectors) == 3 and all(len(v) == 384 for v in vectors)
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731 (vectors are normalised)
    assert dot(vectors[0], vectors[1]) > dot(vectors[0], vectors[2]) + 0.2
    assert out.usage.prompt_tokens > 0 and out.model == "all-minilm-l6-v2"
    import openai

    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="no-such-embedder", input="x")


def test_the_built_in_tool_loop_calls_a_function_calling_upstream_natively(stub, tmp_path):
    from cadre.runtime.engine import Engine

    path = tmp_path / "cadre.yaml"
    path.write_text(project(stub.url).replace("capabilities: [primary_chat],",
                                              "capabilities: [primary_chat], supports_function_calling: true,")
                    + "runtime: {tool_calling: primary}\n")
    engine = Engine.from_config_file(path)
    try:
        before = len(stub.requests)
        result = engine.chat(user("write a haiku"))
    finally:
        engine.close()
    first = stub.requests[before]
    assert {t["function"]["name"] for t in first["tools"]} >= {"solve_math", "generate_code"}
    assert "<tools>" not in json.dumps(first["messages"])  # sent as tools, not inlined in a prompt
    # the stub called generate_code; its result went back as a tool message with the call's id
    last = stub.requests[-1]["messages"]
    assert last[-1]["role"] == "tool" and last[-1]["tool_call_id"] == last[-2]["tool_calls"][0]["id"]
    assert "natively (2 rounds)" in result.reason and result.text.startswith("The tool said:")
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (20, 8)  # both rounds, the upstream's own


def test_built_in_tools_run_only_when_asked_not_because_the_upstream_calls_functions(stub, tmp_path):
    from cadre.runtime.engine import Engine

    path = tmp_path / "cadre.yaml"  # tool_calling: auto, the default, and a function-calling primary
    path.write_text(project(stub.url).replace("capabilities: [primary_chat],",
                                              "capabilities: [primary_chat], supports_function_calling: true,"))
    engine = Engine.from_config_file(path)
    try:
        before = len(stub.requests)
        result = engine.chat(user("hello there"))
    finally:
        engine.close()
    assert len(stub.requests) == before + 1 and "tools" not in stub.requests[-1]  # one call, no built-in tools
    assert result.text == "stub answer to: hello there" and "tool calling" not in result.reason
