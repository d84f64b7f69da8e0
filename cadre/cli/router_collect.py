"""`cadre router collect`: run registry models over a questions file, judge the answers, and
write a routing table (`prompt`, `model_scores`, `model_costs`) for `fit-learned`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cadre.cli.verbs import verb


@verb("collect", group="router")
def collect_cmd(
        models: str = typer.Option(..., "--models", help="Comma-separated registry model names."),
        data: Path = typer.Option(..., "--data", help="Questions: JSONL (.gz) or a JSON list."),
        judge: str = typer.Option(..., "--judge", help="exact, numeric, choice, code or llm:MODEL."),
        output: Path = typer.Option(..., "--output", help="Routing table to write (JSONL, .gz allowed)."),
        config: Optional[Path] = typer.Option(None, "--config", help="Project file (default: the one in effect)."),
        concurrency: int = typer.Option(4, "--concurrency", min=1, max=256, help="Calls running at once."),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Use only the first N usable questions."),
        max_tokens: int = typer.Option(256, "--max-tokens", min=1, help="Answer length limit."),
        temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="Sampling temperature."),
        prompt_column: Optional[str] = typer.Option(None, help="Prompt column (default: prompt or question)."),
        reference_column: Optional[str] = typer.Option(
            None, help="Reference column (default: answer, reference, tests or test_list)."),
        id_column: Optional[str] = typer.Option(None, help="Row id column (default: id or idx, else a prompt hash)."),
        system: Optional[str] = typer.Option(None, help="System prompt sent before every question."),
        template: Optional[str] = typer.Option(
            None, help="Build each prompt from the row's columns, e.g. '{text}\\nTests:\\n{test_list}'."),
        retry_errors: bool = typer.Option(False, "--retry-errors", help="Rerun calls that failed earlier."),
        keep_answers: bool = typer.Option(False, "--keep-answers", help="Also write the answers (model_answers)."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
        unsafe_judge: bool = typer.Option(
            False, "--unsafe-judge", help="Let the code judge run model code without a sandbox (no bubblewrap)."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
        ray: bool = typer.Option(False, "--ray", help="Fan the calls out over Ray workers, in shards of rows "
                                 "(a local Ray instance unless --ray-address); the table is the same."),
        ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Join this Ray cluster (HOST:PORT)."),
        shards: Optional[int] = typer.Option(None, "--shards", min=1,
                                             help="Shards with --ray (default: the cluster's CPUs).")) -> None:
    """Ask each model every question, judge the answers, write scores and costs (resumable).

    --concurrency bounds the calls each model gets at once, with --ray across all shards.
    """
    from cadre.collect.collector import CollectSettings, collect

    if judge.strip() == "code":
        from cadre.evaluation import sandbox

        sandbox.check(unsafe_judge)  # at start-up: refuse before any model is called

    settings = CollectSettings(
        models=models.split(","), judge=judge, max_tokens=max_tokens, temperature=temperature,
        concurrency=concurrency, limit=limit, prompt_column=prompt_column, reference_column=reference_column,
        id_column=id_column, system=system, template=_unescape(template), retry_errors=retry_errors,
        keep_answers=keep_answers)
    calls = None
    if ray or ray_address:
        from cadre.config import find_config
        from cadre.fleet.collect_ray import RayCalls

        config = find_config(config)
        calls = RayCalls(config, ray_address, shards)
    summary = collect(data, output, settings, config=config, progress=progress and not as_json, calls=calls)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
        return
    for line in summary.lines():
        typer.echo(line)


def _unescape(template: Optional[str]) -> Optional[str]:
    """Shell-friendly templates: a literal backslash-n becomes a newline."""
    return template.replace("\\n", "\n") if template else template
