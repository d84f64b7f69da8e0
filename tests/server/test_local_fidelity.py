"""Client fields honoured by local models on the live test server (SmolLM2 primary, tiny
cadre Q/A `code` model): response_format by constrained decoding, tool_choice forced by a
constrained retry, streamed tool requests, real usage and "length", clear 400s where a
model cannot comply."""
from __future__ import annotations

import json

import httpx

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"]}


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_response_format_is_constrained_decoding_on_a_local_model(client):
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    answer = client.chat.completions.create(model="smollm2", messages=user("Invent a person."),
                                            response_format=fmt, max_tokens=60)
    data = json.loads(answer.choices[0].message.content)
    assert set(data) == {"name", "age"} and isinstance(data["name"], str) and isinstance(data["age"], int)
    assert answer.usage.completion_tokens > 0 and answer.usage.prompt_tokens > 0
    short = {"type": "object", "properties": {"greeting": {"type": "string", "maxLength": 16}},
             "required": ["greeting"]}
    streamed = list(client.chat.completions.create(
        model="smollm2", messages=user("Greet me in JSON."), max_tokens=40, stream=True,
        response_format={"type": "json_schema", "json_schema": {"name": "greeting", "schema": short}}))
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert list(json.loads(text)) == ["greeting"]


def test_a_forced_tool_choice_is_honoured_by_a_constrained_retry(client):
    choice = {"type": "function", "function": {"name": "get_weather"}}
    answer = client.chat.completions.create(model="smollm2", messages=user("Tell me a joke about ducks."),
                                            tools=[WEATHER], tool_choice=choice, max_tokens=16)
    call = answer.choices[0].message.tool_calls[0]
    assert answer.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments)["city"], str)
    assert answer.usage.completion_tokens > 0
    assert answer.choices[0].message.content is None  # the failed first attempt's prose is not sent


def test_a_forced_tool_call_that_fails_streams_no_text_before_its_error(live, api_key):
    body = {"model": "code", "messages": user("write a function"), "max_tokens": 8, "stream": True,
            "tools": [WEATHER], "tool_choice": "required"}
    with httpx.stream("POST", f"{live.base}/v1/chat/completions", json=body, timeout=120,
                      headers={"Authorization": f"Bearer {api_key}"}) as response:
        raw = response.read().decode()
    events = [json.loads(line[5:]) for line in raw.splitlines() if line.startswith("data:") and "[DONE]" not in line]
    texts = [c["choices"][0]["delta"].get("content") for c in events if c.get("choices")]
    assert not any(texts), texts
    error = events[-1]["error"] if response.status_code == 200 else json.loads(raw)["error"]
    assert "tool_choice requires" in error["message"]


def test_a_streamed_tool_request_streams_and_a_cut_says_length(client):
    chunks = list(client.chat.completions.create(model="smollm2", messages=user("Write a long poem about the sea."),
                                                 tools=[WEATHER], max_tokens=12, stream=True,
                                                 stream_options={"include_usage": True}))
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) >= 3  # piece by piece, not one replayed block
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 12


def test_models_that_cannot_comply_are_a_clear_400(live, api_key):
    def post(body):
        return httpx.post(f"{live.base}/v1/chat/completions", json=body, timeout=120,
                          headers={"Authorization": f"Bearer {api_key}"})

    answer = post({"model": "code", "messages": user("write a function"), "max_tokens": 8,
                   "response_format": {"type": "json_object"}})
    assert answer.status_code == 400 and "cannot honour response_format" in answer.json()["error"]["message"]
    answer = post({"model": "smollm2", "messages": user("hi"), "max_tokens": 8, "response_format": {
        "type": "json_schema", "json_schema": {"name": "bad", "schema": {"type": "foo"}}}})
    assert answer.status_code == 400 and "cannot constrain to this schema" in answer.json()["error"]["message"]
    answer = post({"model": "code", "messages": user("write a function"), "max_tokens": 8,
                   "tools": [WEATHER], "tool_choice": "required"})
    assert answer.status_code == 400 and "tool_choice requires" in answer.json()["error"]["message"]


def test_no_op_values_are_accepted(client):
    answer = client.chat.completions.create(model="smollm2", messages=user("hi"), max_tokens=2, logprobs=False,
                                            store=False, logit_bias={}, response_format={"type": "text"})
    assert answer.choices[0].message.content
