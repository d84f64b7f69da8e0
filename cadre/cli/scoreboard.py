"""`cadre scoreboard`: each route's specialist against the primary on held-out data."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from cadre.cli.verbs import verb

CONFIG_HELP = "Project file (cadre.yaml or specialized_models.json); default: $CADRE_CONFIG, ./cadre.yaml, built-in."


@verb("scoreboard")
def scoreboard_cmd(
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    heldout: Path = typer.Option(Path("data/heldout"), "--heldout",
                                 help="Folder of intent.jsonl, code.jsonl, math.jsonl and vision.jsonl."),
    routes: str = typer.Option("intent,code,math,vision,lora", "--routes",
                               help="Comma-separated routes to score (lora: every LoRA specialist in the "
                                    "project, fine-tuned vs base, from the metrics its run recorded)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Score only the first N examples of each file."),
    record: bool = typer.Option(True, "--record/--no-record",
                                help="Write each specialist's score into its checkpoint's cadre.json "
                                     "(serving reads it: a specialist that loses is skipped)."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as one JSON list."),
    memory_budget: str | None = typer.Option(None, help="Budget such as 2GB (default: the project's)."),
) -> None:
    """Score each route's specialist and the primary on held-out examples of its job.

    Rows: intent (the router chain vs the primary asked zero-shot; accuracy), code (the code
    specialist vs the primary with the code instruction; pass@1 in the sandboxed code judge),
    math (the sympy tool vs the primary; numeric judge) and vision (the captioner vs the
    primary given the same image features; ROUGE-L) and one row per LoRA specialist
    (fine-tuned vs base on its gate metric, as `cadre specialist run` measured it). The winner is the specialist when its
    score is at least the primary's.
    """
    from cadre.config import find_config
    from cadre.runtime.engine import Engine
    from cadre.runtime.manager import ModelManager
    from cadre.scoreboard import format_table, run_scoreboard

    project = find_config(config)
    engine = Engine(project, manager=ModelManager.from_config(project, memory_budget=memory_budget))
    try:
        say = None if as_json else (lambda text: typer.echo(text, err=True))
        rows = run_scoreboard(engine, heldout, limit, [r.strip() for r in routes.split(",") if r.strip()],
                              record=record, progress=say)
    finally:
        engine.close()
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in rows], indent=1))
        return
    typer.echo(format_table(rows))
    for row in rows:
        if row.recorded:
            typer.echo(f"  {row.route}: recorded in {row.recorded}")
