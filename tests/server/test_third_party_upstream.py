"""A real OpenAI-compatible server that cadre did not write, `transformers serve` (from the
transformers package), in front of the packaged SmolLM2, behind a real `cadre serve`;
driven by the official openai SDK through Chat Completions and the Responses API."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server.gateway_proc import KEY, cadre_serve, free_port

pytestmark = pytest.mark.slow  # about 40 s: two servers and a real model on the CPU


@pytest.fixture(scope="module")
def hf_server():
    from cadre.pretrained import resolve_base

    folder, port = resolve_base(), free_port()
    cli = Path(sys.executable).with_name("transformers")
    proc = subprocess.Popen([str(cli), "serve", folder, "--host", "127.0.0.1", "--port", str(port),
                             "--device", "cpu"], env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            assert proc.poll() is None and time.time() < deadline, "transformers serve did not start"
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield f"{base}/v1", folder
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def client(hf_server, tmp_path_factory):
    import openai

    url, folder = hf_server
    with cadre_serve(tmp_path_factory.mktemp("hf"), url, options=f", model: \"{folder}\", timeout_s: 120") as base:
        yield openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0, timeout=180)


def test_chat_whole_and_streamed_through_transformers_serve(client):
    answer = client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "Say hi."}],
                                            max_tokens=6)
    assert answer.model == "stub-gpt" and answer.choices[0].message.content
    assert answer.usage.prompt_tokens > 10 and 0 < answer.usage.completion_tokens <= 6  # the upstream's own
    chunks = list(client.chat.completions.create(model="stub-gpt", messages=[{"role": "user", "content": "Say hi."}],
                                                 max_tokens=6, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_the_responses_api_through_transformers_serve(client):
    response = client.responses.create(model="auto", input="Say hi.", max_output_tokens=6)
    assert response.output_text and response.model == "stub-gpt"
    assert response.usage.input_tokens > 10
    events = list(client.responses.create(model="auto", input="Say hi.", max_output_tokens=6, stream=True))
    assert events[-1].type == "response.completed" and events[-1].response.output_text
