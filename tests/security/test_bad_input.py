"""Bad input over HTTP is a 400 with OpenAI's error JSON (never a 500 or a silent 200),
and a lone surrogate on `cadre route`'s command line is one `error:` line."""
from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.security.conftest import ORIGIN

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
USER = [{"role": "user", "content": "weather in Rome?"}]


def raw_post(served, path: str, body: bytes) -> httpx.Response:
    return httpx.post(served.base + path, content=body, timeout=60,
                      headers={"Content-Type": "application/json"})


def assert_error_json(response: httpx.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert "Traceback" not in response.text
    return error


BAD_BODIES = {
    "lone surrogate in /v1/route": ("/v1/route", b'{"input": "hi \\ud800 there"}'),
    "lone surrogate in chat": ("/v1/chat/completions",
                               b'{"model": "auto", "messages": [{"role": "user", "content": "a\\udfff"}]}'),
    "lone surrogate in a key": ("/v1/route", b'{"input": "x", "\\ud801": 1}'),
    "deeply nested JSON": ("/v1/route", b'{"input": "x", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "nested below the recursion limit": ("/v1/chat/completions", b'{"model": "auto", "messages": '
                                         b'[{"role": "user", "content": "x"}], "metadata": '
                                         + b'{"a": ' * 500 + b"1" + b"}" * 500 + b"}"),
    "an integer over 4,300 digits": ("/v1/chat/completions", b'{"model": "auto", "seed": ' + b"9" * 5000
                                     + b', "messages": [{"role": "user", "content": "x"}]}'),
    "deeply nested feedback": ("/v1/feedback", b'{"id": "x", "score": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "lone surrogate in embeddings": ("/v1/embeddings", b'{"model": "all-minilm-l6-v2", "input": "a\\ud800"}'),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_bodies_are_400(served, name):
    path, body = BAD_BODIES[name]
    assert_error_json(raw_post(served, path, body))


@pytest.mark.parametrize("extra, words", [
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "launch_missiles"}}},
     "launch_missiles"),
    ({"tool_choice": "required"}, "required"),
    ({"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}, "get_weather"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "banana"}}}]}, "type"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"a": 5}}}}]}, "properties"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "required": "city"}}}]}, "required"),
])
def test_tool_choice_and_tool_schemas_are_checked(served, extra, words):
    response = httpx.post(served.base + "/v1/chat/completions", timeout=60,
                          json={"model": "auto", "messages": USER, **extra})
    error = assert_error_json(response)
    assert words in error["message"]


def test_a_refused_cors_preflight_is_error_json(served):
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    refused = httpx.options(served.base + "/v1/chat/completions", headers=preflight)
    error = assert_error_json(refused)
    assert error["code"] == "cors_refused" and "origin" in error["message"]
    allowed = httpx.options(served.base + "/v1/chat/completions", headers={**preflight, "Origin": ORIGIN})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN


def test_the_server_still_answers_after_every_bad_input(served):
    assert httpx.get(served.base + "/health").json()["status"] == "ok"


def test_cadre_route_with_bytes_that_are_not_utf8_is_one_error_line(tiny_router_dir):
    argv = [os.fsencode(sys.executable), b"-m", b"cadre.cli.main", b"route",
            os.fsencode(str(tiny_router_dir)), b"play \xff\xfe music"]
    result = subprocess.run(argv, capture_output=True, env=os.environ.copy(), timeout=120)
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error:") and "UTF-8" in lines[0]
    assert b"Traceback" not in result.stderr and result.stdout == b""
