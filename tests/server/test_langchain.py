"""LangChain's ChatOpenAI (langchain-openai) against a real `cadre serve` in front of the
stub upstream that answers with native tool_calls: bind_tools with a forced tool_choice,
with_structured_output in all three methods, streamed tool-call deltas, and the
upstream's usage (10 in / 4 out) on every path."""
from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from tests.server.gateway_proc import KEY, cadre_serve
from tests.server.stub_upstream import StubUpstream

pytest.importorskip("langchain_openai")


class Trip(BaseModel):
    """A trip plan."""

    city: str = Field(description="where to go")
    days: int = Field(description="how long")


class Answer(BaseModel):
    answer: str


def get_weather(city: str) -> str:
    """Weather in a city."""
    return f"sunny in {city}"


@pytest.fixture(scope="module")
def stub():
    upstream = StubUpstream()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def llm(stub, tmp_path_factory):
    from langchain_openai import ChatOpenAI

    with cadre_serve(tmp_path_factory.mktemp("langchain"), stub.url) as base:
        yield ChatOpenAI(model="auto", base_url=f"{base}/v1", api_key=KEY, max_retries=0, timeout=60,
                         stream_usage=True)


def assert_upstream_usage(message) -> None:
    usage = message.usage_metadata
    assert usage is not None and (usage["input_tokens"], usage["output_tokens"]) == (10, 4)


def test_bind_tools_with_a_forced_tool_choice(llm, stub):
    message = llm.bind_tools([get_weather], tool_choice="get_weather").invoke("what is the weather in Paris?")
    assert stub.requests[-1]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert message.tool_calls[0]["name"] == "get_weather" and message.tool_calls[0]["args"] == {"city": "Paris"}
    assert_upstream_usage(message)


def test_streamed_tool_call_deltas_add_up(llm):
    chunks = list(llm.bind_tools([get_weather], tool_choice="any").stream("weather in Paris?"))
    pieces = [c for c in chunks if c.tool_call_chunks]
    assert len(pieces) >= 3  # the upstream's deltas arrive one by one, not replayed as one
    whole = sum(chunks[1:], chunks[0])
    assert whole.tool_calls[0]["name"] == "get_weather" and whole.tool_calls[0]["args"] == {"city": "Paris"}
    assert_upstream_usage(whole)


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_structured_output_by_tools_and_by_json_schema(llm, stub, method):
    out = llm.with_structured_output(Trip, method=method, include_raw=True).invoke("plan a trip")
    assert out["parsing_error"] is None and out["parsed"] == Trip(city="Paris", days=3)
    assert_upstream_usage(out["raw"])
    sent = stub.requests[-1]
    assert ("tools" in sent) if method == "function_calling" else (sent["response_format"]["type"] == "json_schema")


def test_structured_output_by_json_mode(llm, stub):
    out = llm.with_structured_output(Answer, method="json_mode", include_raw=True).invoke(
        "reply in JSON with an answer field")
    assert out["parsing_error"] is None and out["parsed"].answer == "reply in JSON with an answer field"
    assert stub.requests[-1]["response_format"] == {"type": "json_object"}
    assert_upstream_usage(out["raw"])


def test_plain_chat_and_streaming_carry_usage(llm):
    message = llm.invoke("hello there")
    assert message.content == "stub answer to: hello there"
    assert message.response_metadata.get("model_name") == "stub-gpt"
    assert_upstream_usage(message)
    chunks = list(llm.stream("hello there"))
    whole = sum(chunks[1:], chunks[0])
    assert whole.content == "stub answer to: hello there"
    assert_upstream_usage(whole)
