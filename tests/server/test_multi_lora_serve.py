"""Two LoRA adapters on one SmolLM2 base through a real `cadre serve` and the openai client:
each request is answered by its own adapter, and the server holds one copy of the base."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.server.gateway_proc import free_port

KEY = "lora-key"
PROMPT = "Is 'a wonderful film' positive?"


def project(adapters) -> str:
    return f"""\
version: 1
runtime: {{memory_budget: 3GB, lora: {{max_adapters: 4, max_batch: 4}}}}
router: {{enabled: false}}
models:
  - {{name: sql, path: "{adapters['sql']}", capabilities: [primary_chat]}}
  - {{name: sentiment, path: "{adapters['sentiment']}", capabilities: [summarization]}}
"""


def expected(config) -> dict[str, str]:
    """What each adapter answers alone, in this process (the same manager and backend)."""
    from cadre.config import find_config
    from cadre.runtime.manager import ModelManager

    manager = ModelManager.from_config(find_config(config))
    try:
        answers = {}
        for name in ("sql", "sentiment"):
            with manager.use(name) as model:
                answers[name] = model.invoke(PROMPT, max_tokens=10, temperature=0.0)
        return answers
    finally:
        manager.close()


@pytest.mark.slow
def test_two_adapters_on_one_base_each_answer_through_cadre_serve(tmp_path, smollm2_adapters):
    from openai import OpenAI

    config = tmp_path / "cadre.yaml"
    config.write_text(project(smollm2_adapters))
    want = expected(config)
    assert want["sql"] != want["sentiment"]  # the adapters answer differently
    port = free_port()
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config), "--port",
                             str(port), "--api-key", KEY], stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            log.seek(0)
            assert proc.poll() is None and time.time() < deadline, log.read()[-2000:]
            time.sleep(0.2)
        client = OpenAI(base_url=base + "/v1", api_key=KEY, timeout=300)
        got: dict[str, str] = {}

        def ask(name):
            reply = client.chat.completions.create(model=name, messages=[{"role": "user", "content": PROMPT}],
                                                   max_tokens=10, temperature=0)
            got[name] = (reply.model, reply.choices[0].message.content)

        threads = [threading.Thread(target=ask, args=(name,)) for name in ("sql", "sentiment")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert got == {name: (name, want[name]) for name in ("sql", "sentiment")}
        data = httpx.get(base + "/v1/dashboard/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=30).json()
        [shared] = data["bases"]
        assert shared["loads"] == 1 and sorted(shared["loaded_adapters"]) == ["sentiment", "sql"]
        assert {m["name"]: m["base"] for m in data["models"]} == {"sql": shared["base"], "sentiment": shared["base"]}
        assert data["memory"]["cpu"]["used_bytes"] < 1.1 * shared["charged_bytes"]  # one base, two small adapters
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
