"""Adapters from three public per-prompt correctness tables to cadre's routing-table format.

- `routerbench`: RouterBench rows as committed by RouterDC (`prompt`, `score`, `cost_usd`,
  `eval_name`, `routerdc_split`, `sample_id`): costs are the dollars each call cost.
- `zeroeval`: ZeroEval rows (`question`, `correct`, `output_chars`, `task`, `id`). There
  are no prices, so the cost is the length of the model's output in characters, a proxy
  for output tokens.
- `routellm`: RouteLLM's GPT-4 vs Mixtral rows (`prompt`, `correct`, `source`, `subject`,
  `contaminated`). There is no per-prompt cost; each call costs the model's price per
  million tokens relative to GPT-4-Turbo ($10 vs $0.24, the prices RouteLLM's paper
  uses), so mean cost is proportional to the share of calls sent to GPT-4, the cost axis
  RouteLLM reports.

Each adapter returns a routing-table row dict; `write_routing_table` writes them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from cadre.errors import CadreError

ROUTELLM_PRICES = {"gpt-4-1106-preview": 1.0, "mistralai/Mixtral-8x7B-Instruct-v0.1": 0.24 / 10.0}


def from_routerbench(rec: dict) -> dict:
    """RouterBench (RouterDC split) record → routing row; nulls stay null (the reader masks them)."""
    return {"prompt": rec["prompt"], "model_scores": rec["score"], "model_costs": rec["cost_usd"],
            "task": rec.get("eval_name"), "routerdc_split": rec.get("routerdc_split"),
            "sample_id": rec.get("sample_id")}


def from_zeroeval(rec: dict) -> dict:
    """ZeroEval record → routing row, cost = output characters."""
    return {"prompt": rec["question"], "model_scores": rec["correct"],
            "model_costs": rec.get("output_chars", {}), "task": rec.get("task"), "id": rec.get("id")}


def from_routellm(rec: dict, prices: dict[str, float] | None = None) -> dict:
    """RouteLLM record → routing row, cost = relative price per call."""
    prices = prices or ROUTELLM_PRICES
    scores = rec["correct"]
    return {"prompt": rec["prompt"], "model_scores": scores,
            "model_costs": {m: prices[m] for m in scores if m in prices},
            "task": rec.get("source"), "subject": rec.get("subject"),
            "contaminated": rec.get("contaminated")}


ADAPTERS: dict[str, Callable[[dict], dict]] = {
    "routerbench": from_routerbench, "zeroeval": from_zeroeval, "routellm": from_routellm}


def convert(path: str | Path, kind: str) -> Iterator[dict]:
    """Yield routing rows converted from a source JSONL(.gz) file of the named kind."""
    from cadre.data.routing_tables import iter_records

    if kind not in ADAPTERS:
        raise CadreError(f"unknown routing source {kind!r}; known: {sorted(ADAPTERS)}")
    adapt = ADAPTERS[kind]
    for n, rec in iter_records(path):
        if not isinstance(rec, dict):
            raise CadreError(f"{path}:{n}: not a JSON object")
        try:
            yield adapt(rec)
        except KeyError as exc:
            raise CadreError(f"{path}:{n}: {kind} record lacks {exc}") from None
