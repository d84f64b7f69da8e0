"""`cadre serve` end to end: the official openai client (and httpx for raw cases)
against a real uvicorn server on loopback, in front of a real Engine."""
from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def weather_shots() -> list[dict]:
    """Two worked examples in SmolLM2's <tool_call> format (it follows them reliably)."""
    convo = []
    for city, sky in (("Rome", "sunny"), ("Oslo", "snowing")):
        call = json.dumps([{"name": "get_weather", "arguments": {"city": city}}])
        convo += [{"role": "user", "content": f"What is the weather in {city}?"},
                  {"role": "assistant", "content": f"<tool_call>{call}</tool_call>"},
                  {"role": "tool", "tool_call_id": "call_0", "content": sky},
                  {"role": "assistant", "content": f"It is {sky} in {city}."}]
    return convo


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


JSON = {"Content-Type": "application/json"}


def raw(live, method: str, path: str, key: str | None = "test-key", **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, live.base + path, headers={**headers, **kw.pop("headers", {})},
                         timeout=kw.pop("timeout", 60), **kw)


def assert_openai_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert "Traceback" not in response.text
    if code is not None:
        assert error["code"] == code
    return error


# ----------------------------------------------------------------- listing and health

def test_models_lists_every_registry_model_then_the_virtual_routers(client, serve_engine):
    ids = [m.id for m in client.models.list().data]
    assert ids[:6] == ["smollm2", "router", "code", "slow", "boom", "ghost"]
    routers = serve_engine.router_names()
    assert ids[6:6 + len(routers)] == routers and ids[6] == "auto"
    assert {"tool:solve_math", "efficientnet-lite0", "all-minilm-l6-v2"} <= set(ids[6 + len(routers):])
    assert any(i.startswith("router-nano-") for i in ids)
    assert client.models.retrieve("auto").id == "auto"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-17")


def test_health_needs_no_key_but_everything_else_does(live, client):
    health = raw(live, "GET", "/health", key=None)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert_openai_error(raw(live, "GET", "/v1/models", key=None), 401, "invalid_api_key")
    assert_openai_error(raw(live, "POST", "/v1/route", key="wrong", json={"input": "hi"}), 401)
    with pytest.raises(openai.AuthenticationError):
        client.with_options(api_key="wrong").models.list()


# ----------------------------------------------------------------- routing

def test_auto_routes_and_names_the_chosen_model_and_reason(client):
    reply = client.chat.completions.with_raw_response.create(
        model="auto", messages=user("write a python function to sort lists"), max_tokens=4)
    completion, header = reply.parse(), reply.headers["x-cadre-route"]
    assert completion.model == "code"
    assert header.startswith("nano code") and "generate_code" in header
    assert header.isascii() and ">=" in header  # "≥" made latin-1 safe
    chat = client.chat.completions.with_raw_response.create(
        model="auto", messages=user("hello there, how are you"), max_tokens=4)
    assert chat.parse().model == "smollm2" and chat.headers["x-cadre-route"].startswith("nano chat")


def test_a_concrete_model_skips_routing(client):
    reply = client.chat.completions.with_raw_response.create(
        model="smollm2", messages=user("write a python function to sort lists"), max_tokens=4)
    assert reply.parse().model == "smollm2"
    assert reply.headers["x-cadre-route"] == "model smollm2 requested by name"


def test_route_endpoint_decides_without_generating(live, serve_engine):
    before = serve_engine.manager.slots["code"].loads
    r = raw(live, "POST", "/v1/route", json={"input": "what is 12 times 7"})
    body = r.json()
    assert r.status_code == 200 and body["route"] == "math" and 0 <= body["score"] <= 1
    assert set(body["scores"]) >= {"chat", "code", "math"} and body["reason"].startswith("nano math")
    assert r.headers["x-cadre-route"].isascii()
    chat = raw(live, "POST", "/v1/route", json={"model": "router-keyword-0.3",
                                                "messages": user("solve 2x = 4")})
    assert chat.json()["reason"].startswith("keyword math")
    assert serve_engine.manager.slots["code"].loads == before  # nothing generated or loaded
    assert_openai_error(raw(live, "POST", "/v1/route", json={"input": "x", "model": "router-gbdt-0.5"}),
                        404, "model_not_found")


# ----------------------------------------------------------------- generation

def test_streaming_matches_the_whole_answer_and_ends_with_done(client, live):
    kwargs = dict(model="smollm2", messages=user("Name a color."), max_tokens=6, temperature=0)
    whole = client.chat.completions.create(**kwargs)
    chunks = list(client.chat.completions.create(stream=True, stream_options={"include_usage": True},
                                                 **kwargs))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content and text
    assert {c.model for c in chunks} == {"smollm2"}
    assert chunks[-2].choices[0].finish_reason == whole.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens <= 6
    with httpx.stream("POST", live.base + "/v1/chat/completions", json={**kwargs, "stream": True},
                      headers={"Authorization": "Bearer test-key"}, timeout=60) as r:
        lines = [line for line in r.iter_lines() if line]
    assert r.headers["content-type"].startswith("text/event-stream") and lines[-1] == "data: [DONE]"


def test_text_completions_whole_and_streamed(client):
    whole = client.completions.create(model="smollm2", prompt="The sky is", max_tokens=5)
    assert whole.object == "text_completion" and whole.model == "smollm2" and whole.choices[0].text
    streamed = list(client.completions.create(model="smollm2", prompt="The sky is", max_tokens=5, stream=True))
    assert "".join(c.choices[0].text for c in streamed) == whole.choices[0].text


def test_stop_sequences_end_the_answer(client):
    kwargs = dict(model="slow", messages=user("go"), max_tokens=20, stop=["tick3"])
    whole = client.chat.completions.create(**kwargs)
    assert whole.choices[0].message.content == "tick0 tick1 tick2 " and whole.choices[0].finish_reason == "stop"
    chunks = list(client.chat.completions.create(stream=True, **kwargs))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "tick0 tick1 tick2 "


def test_tools_come_back_as_openai_tool_calls(client):
    messages = weather_shots() + user("What is the weather in Paris?")
    reply = client.chat.completions.create(model="smollm2", messages=messages, tools=[WEATHER],
                                           tool_choice="auto", max_tokens=30)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    streamed = list(client.chat.completions.create(model="smollm2", messages=messages, tools=[WEATHER],
                                                   max_tokens=30, stream=True))
    calls = [tc for c in streamed if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert calls[0].function.name == "get_weather" and streamed[-1].choices[0].finish_reason == "tool_calls"
    # The client runs the tool and sends the result back; the model answers in text.
    follow = messages + [choice.message, {"role": "tool", "tool_call_id": call.id, "content": "rainy"}]
    answer = client.chat.completions.create(model="smollm2", messages=follow, max_tokens=2)
    assert answer.choices[0].finish_reason in ("stop", "length") and answer.choices[0].message.content


def test_a_client_that_disconnects_cancels_its_generation(live, slow_log, serve_engine):
    body = {"model": "slow", "messages": user("go"), "max_tokens": 200, "stream": True}
    with httpx.stream("POST", live.base + "/v1/chat/completions", json=body,
                      headers={"Authorization": "Bearer test-key"}, timeout=60) as r:
        assert next(r.iter_lines()).startswith("data: ")
    wait_for(lambda: serve_engine.manager.slots["slow"].in_use == 0)
    ticks = slow_log.count("tick")
    time.sleep(0.3)  # 6 more ticks if it were still generating
    assert slow_log.count("tick") == ticks < 20 and "finished" not in slow_log
    slow_log.clear()
    with pytest.raises(httpx.ReadTimeout):  # a client waiting for a whole answer gives up
        raw(live, "POST", "/v1/chat/completions", json={**body, "stream": False}, timeout=0.5)
    # The backend logs "stopped" just before the manager releases its lease, so wait for both.
    wait_for(lambda: "stopped" in slow_log and serve_engine.manager.slots["slow"].in_use == 0)
    assert slow_log.count("tick") < 40


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "condition not reached in time"
        time.sleep(0.01)


# ----------------------------------------------------------------- errors

def test_bad_json_and_bad_parameters_are_400(live, client):
    assert_openai_error(raw(live, "POST", "/v1/chat/completions", content=b"{not json", headers=JSON), 400, "invalid_json")
    assert_openai_error(raw(live, "POST", "/v1/chat/completions", json=[1, 2]), 400, "invalid_json")
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="smollm2", messages=user("hi"), temperature=7)
    assert bad.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as unknown:
        client.chat.completions.create(model="smollm2", messages=user("hi"), extra_body={"temprature": 0})
    assert unknown.value.body["code"] == "unknown_parameter" and unknown.value.body["param"] == "temprature"
    error = assert_openai_error(raw(live, "POST", "/v1/chat/completions",
                                    json={"model": "auto", "messages": [{"role": "robot", "content": "x"}]}), 400)
    assert error["param"] == "messages.0.role"


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-17", messages=user("hi"))
    assert err.value.body["code"] == "model_not_found" and "gpt-17" in err.value.body["message"]


def test_a_body_over_the_limit_is_413(live):
    big = {"model": "smollm2", "messages": user("x" * 70_000)}
    assert_openai_error(raw(live, "POST", "/v1/chat/completions", json=big), 413, "request_too_large")

    def chunked():  # no Content-Length: the limit is enforced while reading
        yield b'{"model": "smollm2", "messages": [{"role": "user", "content": "'
        for _ in range(20):
            yield b"y" * 4096
        yield b'"}]}'
    assert_openai_error(raw(live, "POST", "/v1/chat/completions", content=chunked(), headers=JSON), 413)


def test_a_full_model_queue_is_429_with_retry_after(live, client, serve_engine, slow_log):
    body = {"model": "slow", "messages": user("go"), "max_tokens": 200, "stream": True}
    with httpx.stream("POST", live.base + "/v1/chat/completions", json=body,
                      headers={"Authorization": "Bearer test-key"}, timeout=60) as running:
        lines = running.iter_lines()  # kept: dropping the iterator would close the connection
        next(lines)  # the one running request (max_concurrent 1)
        waiting = {}
        thread = threading.Thread(target=lambda: waiting.update(r=raw(
            live, "POST", "/v1/chat/completions", json={**body, "stream": False, "max_tokens": 2})))
        thread.start()  # the one waiting request (max_queue 1)
        wait_for(lambda: serve_engine.manager.slots["slow"].waiting == 1)
        with pytest.raises(openai.RateLimitError) as full:
            client.chat.completions.create(model="slow", messages=user("go"), max_tokens=2)
        assert int(full.value.response.headers["retry-after"]) >= 1
        assert full.value.body["code"] == "queue_full" and "slow" in full.value.body["message"]
    thread.join(30)  # leaving the stream cancels it; the waiting request is then served
    assert waiting["r"].status_code == 200 and waiting["r"].json()["choices"][0]["message"]["content"]


def test_an_engine_failure_is_a_logged_500_and_missing_model_files_a_503(client, caplog):
    with caplog.at_level("ERROR", logger="cadre.server"):
        with pytest.raises(openai.InternalServerError) as boom:
            client.chat.completions.create(model="boom", messages=user("hi"))
    assert boom.value.status_code == 500 and "secret" not in json.dumps(boom.value.body)
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)
    with pytest.raises(openai.InternalServerError) as streamed:
        list(client.chat.completions.create(model="boom", messages=user("hi"), stream=True))
    assert streamed.value.status_code == 500
    with pytest.raises(openai.APIStatusError) as ghost:
        client.chat.completions.create(model="ghost", messages=user("hi"))
    assert ghost.value.status_code == 503 and ghost.value.body["code"] == "model_files_missing"
    assert "cadre train --type math" in ghost.value.body["message"] and "missing-model" not in ghost.value.body["message"]


# ----------------------------------------------------------------- metrics and lifecycle

def test_metrics_count_requests_routes_and_loaded_models(live, client):
    client.chat.completions.create(model="auto", messages=user("hello there, how are you"), max_tokens=2)
    text = raw(live, "GET", "/metrics").text
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
               for line in text.splitlines() if line and not line.startswith("#")}
    assert samples['cadre_requests_total{endpoint="/v1/chat/completions",status="200"}'] >= 1
    assert samples['cadre_requests_total{endpoint="/v1/models",status="401"}'] >= 1
    assert samples['cadre_request_latency_seconds_count{endpoint="/v1/chat/completions"}'] >= 2
    assert samples['cadre_model_requests_total{model="smollm2",requested="auto"}'] >= 1
    assert samples['cadre_route_decisions_total{requested="auto",route="chat"}'] >= 1
    assert samples['cadre_model_loaded{model="smollm2"}'] == 1
    assert samples['cadre_model_memory_bytes{model="smollm2"}'] > 50e6
    assert samples['cadre_memory_bytes{kind="budget_bytes_cpu"}'] == 4e9
    assert samples['cadre_engine_count{kind="requests"}'] >= 1


def test_shutdown_lets_requests_in_flight_finish(serve_engine, slow_log, live_server):
    from cadre.server.app import create_app

    server = live_server(create_app(serve_engine))  # a second app on the same engine
    result = {}
    body = {"model": "slow", "messages": user("go"), "max_tokens": 10}
    thread = threading.Thread(target=lambda: result.update(r=httpx.post(
        server.base + "/v1/chat/completions", json=body, timeout=30)))
    thread.start()
    wait_for(lambda: serve_engine.manager.slots["slow"].in_use == 1)
    server.stop()  # like SIGTERM: stop accepting, finish what is in flight
    thread.join(10)
    assert not server.thread.is_alive()
    assert result["r"].status_code == 200 and result["r"].json()["choices"][0]["message"]["content"].count("tick") == 10
    assert slow_log[-1] == "finished"
