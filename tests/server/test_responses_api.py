"""/v1/responses through a real `cadre serve` (a subprocess) with the official openai SDK:
plain, streamed, with a function tool and its output, `instructions`,
`previous_response_id`, routing by model="auto", and an upstream that speaks the
Responses API itself (`api: responses`) getting the request natively."""
from __future__ import annotations

import json

import pytest

from tests.server.gateway_proc import KEY, cadre_serve
from tests.server.stub_upstream import StubUpstream

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
NATIVE = "  - {name: native, backend: openai, url: \"%s\", capabilities: [summarization], " \
         "options: {retries: 0, api: responses}}\n"


@pytest.fixture(scope="module")
def stub():
    upstream = StubUpstream()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def gateway(stub, tmp_path_factory):
    with cadre_serve(tmp_path_factory.mktemp("responses"), stub.url, extra_models=NATIVE % stub.url) as base:
        yield base


@pytest.fixture(scope="module")
def client(gateway):
    import openai

    return openai.OpenAI(base_url=f"{gateway}/v1", api_key=KEY, max_retries=0, timeout=60)


def test_a_plain_response_with_instructions(client, stub):
    response = client.responses.create(model="stub-gpt", input="hello there", instructions="Be brief.")
    assert response.output_text == "stub answer to: hello there" and response.status == "completed"
    assert response.model == "stub-gpt" and response.id.startswith("resp_")
    assert (response.usage.input_tokens, response.usage.output_tokens) == (10, 4)  # the upstream's own
    sent = stub.requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."} and sent[-1]["content"] == "hello there"
    assert stub.paths[-1].endswith("/chat/completions")  # translated for a chat-only upstream


def test_a_streamed_response_sends_the_responses_event_types(client):
    events = list(client.responses.create(model="stub-gpt", input="stream me please", stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_item.added" in kinds and "response.output_text.done" in kinds
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "stub answer to: stream me please"
    assert events[-1].response.output_text == text and events[-1].response.usage.input_tokens == 10
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_a_function_tool_call_and_its_output_continue_by_previous_response_id(client, stub):
    first = client.responses.create(model="auto", input="What's the weather in Paris?", tools=[WEATHER])
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert stub.requests[-1]["tools"][0]["function"]["name"] == "get_weather"
    second = client.responses.create(model="auto", previous_response_id=first.id, tools=[WEATHER], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert second.output_text == "The tool said: sunny"
    sent = stub.requests[-1]["messages"]  # the stored conversation, then the tool result
    assert sent[0]["content"] == "What's the weather in Paris?" and sent[-2]["tool_calls"][0]["id"] == call.call_id


def test_a_streamed_function_call_arrives_as_function_call_events(client):
    events = list(client.responses.create(model="stub-gpt", input="weather?", tools=[WEATHER], stream=True,
                                          tool_choice={"type": "function", "name": "get_weather"}))
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds
    item = events[-1].response.output[0]
    assert item.type == "function_call" and json.loads(item.arguments) == {"city": "Paris"}


def test_auto_routes_a_response_as_it_routes_chat(client, stub):
    before = len(stub.requests)
    raw = client.responses.with_raw_response.create(model="auto", input="what is 17 times 23?")
    response = raw.parse()
    assert response.model == "tool:solve_math" and response.output_text.endswith("391")
    assert "solve_math" in raw.headers["x-cadre-route"] and len(stub.requests) == before


def test_an_upstream_that_speaks_responses_gets_the_request_natively(client, stub):
    response = client.responses.create(model="native", input="native please", store=False)
    assert stub.paths[-1].endswith("/responses") and stub.requests[-1]["store"] is False
    assert response.output_text == "native answer to: native please" and response.model == "native"
    assert response.usage.input_tokens == 7
    events = list(client.responses.create(model="native", input="native stream", stream=True))
    assert events[-1].type == "response.completed" and events[-1].response.model == "native"
    assert stub.requests[-1]["stream"] is True


def test_bad_requests_are_400s_naming_the_parameter(gateway):
    import httpx

    headers = {"Authorization": f"Bearer {KEY}"}
    out = httpx.post(f"{gateway}/v1/responses", headers=headers, json={"model": "auto", "input": "x",
                                                                        "tools": [{"type": "web_search"}]})
    assert out.status_code == 400 and out.json()["error"]["param"] == "tools"
    out = httpx.post(f"{gateway}/v1/responses", headers=headers, json={"model": "auto", "input": "x",
                                                                        "previous_response_id": "resp_nope"})
    assert out.status_code == 404 and out.json()["error"]["param"] == "previous_response_id"
