"""The team through a real `cadre serve`: model="auto" sends a SQL question to the SQL
adapter and a review to the sentiment adapter, over HTTP with the openai client.

The router is trained (`cadre router train --kind tfidf`) on the specialists' own prompts
(cadre/training/lora/team.py: each spec's prompt template filled from the bundled Spider
slice and the hand-written reviews). The adapters are tiny: LoRA on the 2-layer test base,
loaded through the ordinary model config path (a folder with cadre.json `type: lora`);
their paired evidence is recorded by `cadre scoreboard --routes lora` from cadre.json, as
after a `cadre specialist run`. A third adapter that lost stays off its route.
"""
import json
import subprocess
import sys

import pytest

from cadre.evaluation.evidence import compare
from cadre.training.lora.team import CHAT, bundled_rows, specialist_prompts, team_router_rows, write_router_csv

SQL_Q = ("Database schema: singer(Singer_ID, Name, Country, Age); concert(concert_ID, Year)\n"
         "Question: How many singers are from France?\nWrite one SQL query that answers it.")
REVIEW_Q = "Review: A moving, funny and beautifully acted film.\nIs this review positive or negative?"
LOST_Q = "Text: Paul lives in Paris with his cat\nList its named entities as `type: words` separated by ` | `"


def _adapter(folder, base, name, evidence, task="generation"):
    """A LoRA adapter folder as `cadre specialist run` exports it (tiny, random LoRA init)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cadre.checkpoint import write_metadata
    from cadre.training.lora.catalog import LoraSpec
    from cadre.training.lora.pipeline import attach_lora

    model = attach_lora(AutoModelForCausalLM.from_pretrained(base), LoraSpec(rank=4, target_modules=["q_proj", "v_proj"]),
                        str(base), seed=0)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.02)  # an adapter that changes the base's answers
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    write_metadata(folder, {"type": "lora", "base": str(base), "base_path": str(base), "task": task,
                            "specialist": name, "metrics": {"baseline": {"accuracy": evidence["primary"]},
                                                            "finetuned": {"accuracy": evidence["specialist"]}},
                            "evidence": evidence})
    return folder


def _cli(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_auto_sends_sql_to_the_sql_adapter_and_a_review_to_the_sentiment_adapter(tmp_path, tiny_base):
    from openai import OpenAI

    from tests.server.gateway_proc import free_port

    prompts = {"sql": specialist_prompts("sql", bundled_rows("sql"), 60),
               "sentiment": specialist_prompts("sentiment", bundled_rows("sentiment")),
               "ner": specialist_prompts("ner", [{"text": t} for t in ("Paul went to Paris", "Apple hired Sam",
                                                                          "I met Ann in Rome", "Bob loves Google")])}
    assert all(p.startswith("Database schema:") for p in prompts["sql"])
    write_router_csv(team_router_rows(prompts, CHAT), tmp_path / "team.csv")
    _cli("router", "train", "--kind", "tfidf", "--data", tmp_path / "team.csv", "--output", tmp_path / "router",
         "--quiet", cwd=tmp_path)
    win = compare([1.0] * 70 + [0.0] * 30, [1.0] * 20 + [0.0] * 80)
    hair = compare([0.51] * 4 + [0.49] * 2, [0.5] * 6)
    _adapter(tmp_path / "sql", tiny_base, "sql", win)
    _adapter(tmp_path / "sentiment", tiny_base, "sentiment", win, task="classification")
    _adapter(tmp_path / "ner", tiny_base, "ner", hair)
    (tmp_path / "cadre.yaml").write_text(f"""\
version: 1
runtime: {{memory_budget: 2GB}}
router: {{model: router, keyword_fallback: false, default_route: chat}}
routes:
  sql: {{model: sql}}
  sentiment: {{model: sentiment}}
  ner: {{model: ner}}
models:
  - {{name: primary, path: "{tiny_base}", capabilities: [primary_chat]}}
  - {{name: router, path: "{tmp_path / 'router'}", capabilities: [intent_classification]}}
  - {{name: sql, path: "{tmp_path / 'sql'}", capabilities: [specialist]}}
  - {{name: sentiment, path: "{tmp_path / 'sentiment'}", capabilities: [specialist]}}
  - {{name: ner, path: "{tmp_path / 'ner'}", capabilities: [specialist]}}
""")
    board = json.loads(_cli("scoreboard", "--config", tmp_path / "cadre.yaml", "--routes", "lora", "--json",
                            cwd=tmp_path))
    winners = {row["specialist"]: row["winner"] for row in board}
    assert winners == {"sql": "specialist", "sentiment": "specialist", "ner": "primary"}
    port = free_port()
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(tmp_path / "cadre.yaml"),
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=120)
        _wait(client, proc, log)
        got = {}
        for label, text in (("sql", SQL_Q), ("sentiment", REVIEW_Q), ("ner", LOST_Q), ("chat", CHAT[0])):
            raw = client.chat.completions.with_raw_response.create(
                model="auto", max_tokens=4, messages=[{"role": "user", "content": text}])
            got[label] = (raw.parse().model, raw.headers.get("x-cadre-route", ""))
        assert got["sql"][0] == "sql" and "sql serves" in got["sql"][1], got
        assert "sql: specialist - primary >= +0.4" in got["sql"][1] and "(95%;" in got["sql"][1], got
        assert got["sentiment"][0] == "sentiment" and "sentiment serves" in got["sentiment"][1], got
        assert got["ner"][0] == "primary" and "ner" in got["ner"][1], got  # it lost: the primary answers
        assert got["chat"][0] == "primary", got
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _wait(client, proc, log):
    import time

    deadline = time.time() + 120
    while True:
        try:
            client.models.list()
            return
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise RuntimeError(f"cadre serve did not start: {log.read()[-2000:]}") from None
            time.sleep(0.3)
