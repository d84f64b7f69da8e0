"""Agents through a real `cadre serve` (a subprocess) with model="auto": the OpenAI Agents
SDK's default model (the Responses API) runs a one-tool agent to a final answer, and a
LangChain agent loop with two tool turns stays, after its first turn, on the model that
called the tools; the decision log says why. A session key keeps a conversation on one
model. The upstream is the recording stub, scripted to call tools and then answer."""
from __future__ import annotations

import json

import pytest

from tests.server.gateway_proc import KEY, cadre_serve
from tests.server.stub_upstream import StubUpstream

SETTINGS = "gateway: {decision_log: runs/decisions.jsonl}\n"


@pytest.fixture(scope="module")
def stub():
    upstream = StubUpstream()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def served(stub, tmp_path_factory):
    root = tmp_path_factory.mktemp("agents")
    with cadre_serve(root, stub.url, settings=SETTINGS) as base:
        yield base, root / "runs" / "decisions.jsonl"


def decisions(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_agents_sdk_default_responses_model_runs_a_tool_agent_through_auto(served, stub):
    import asyncio

    from agents import (
        Agent,
        Runner,
        function_tool,
        set_default_openai_client,
        set_tracing_disabled,
    )
    from openai import AsyncOpenAI

    base, _ = served
    set_tracing_disabled(True)
    set_default_openai_client(AsyncOpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0), use_for_tracing=False)
    seen = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        seen.append(city)
        return f"sunny in {city}"

    agent = Agent(name="weather", instructions="Answer with the tool.", model="auto", tools=[get_weather])
    before = len(stub.paths)
    result = asyncio.run(Runner.run(agent, "What's the weather in Paris?"))
    assert seen == ["Paris"] and result.final_output == "The tool said: sunny in Paris"
    assert len(stub.paths) - before == 2 and all(p.endswith("/chat/completions") for p in stub.paths[before:])
    assert stub.requests[-1]["messages"][-1]["role"] == "tool"


def test_a_langchain_loop_with_two_tool_turns_stays_on_the_model_that_called_the_tools(served, stub):
    from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    base, log = served

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    llm = ChatOpenAI(model="auto", base_url=f"{base}/v1", api_key=KEY, max_retries=0)
    # The agent forces its first call; the router would send this text to sympy (tool:solve_math),
    # so the first turn goes to the primary, which can call tools. Later turns carry tool results.
    messages = [SystemMessage("Use two tool rounds."), HumanMessage("what is 17 times 23?")]
    first = llm.bind_tools([multiply], tool_choice="multiply").invoke(messages)
    models = [first.response_metadata["model_name"]]
    free = llm.bind_tools([multiply])
    reply = first
    while reply.tool_calls:
        messages.append(reply)
        for call in reply.tool_calls:
            messages.append(ToolMessage(str(multiply.invoke(call["args"])), tool_call_id=call["id"]))
        reply = free.invoke(messages)
        models.append(reply.response_metadata["model_name"])
    assert len(models) == 3 and models == ["stub-gpt"] * 3  # two tool turns, then the answer
    assert reply.content.startswith("The tool said:")
    routed = [d for d in decisions(log) if d["requested"] == "auto"][-3:]
    assert [d["route"] for d in routed] == ["math", "sticky", "sticky"], routed
    assert "made by stub-gpt" in routed[1]["reason"] and "call_stub8" in routed[1]["reason"]


def test_a_session_key_keeps_a_conversation_on_its_first_model(served, stub):
    import openai

    base, log = served
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0,
                           default_headers={"x-cadre-session": "conv-42"})
    hello = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hello there"}])
    math = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "what is 17 times 23?"}])
    assert hello.model == math.model == "stub-gpt"  # without the session sympy would answer the second
    assert "session conv-42 stays on stub-gpt" in decisions(log)[-1]["reason"]


def test_the_user_field_does_not_pin_routing(served, stub):
    """`user` names an end user across many conversations: their chats are still routed."""
    import openai

    base, _ = served
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0)
    hello = client.chat.completions.create(model="auto", user="alice", prompt_cache_key="app-v1",
                                           messages=[{"role": "user", "content": "hello there"}])
    math = client.chat.completions.create(model="auto", user="alice", prompt_cache_key="app-v1",
                                          messages=[{"role": "user", "content": "what is 17 times 23?"}])
    assert hello.model == "stub-gpt" and math.model != "stub-gpt"
