"""`cadre router retrain`: refit a learned router on its routing table plus the gateway's
logged feedback, promoted only through the gate (see cadre.runtime.gateway.retrain)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cadre.cli.verbs import verb


@verb("retrain", group="router")
def retrain_cmd(
        log: Path = typer.Option(..., "--log", help="The gateway's decision log (JSONL with feedback records; its rotated files and its --ray shards <stem>-*.jsonl beside it are read with it)."),
        output: Path = typer.Option(..., "--output", help="Folder for the new router; written only if promoted."),
        current: Path = typer.Option(..., "--current", help="The learned router in service now (the gate's baseline)."),
        table: Optional[Path] = typer.Option(None, "--table", help="Base routing table (JSONL); a seeded slice of its complete rows is held out for the gate."),
        holdout: float = typer.Option(0.2, min=0.05, max=0.5, help="Share of the base table's complete rows held out."),
        seed: int = typer.Option(0, help="Seed for the held-out slice and the fit."),
        force: bool = typer.Option(False, "--force", help="Write the candidate even when the gate rejects it."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Fit a candidate on BASE + logged outcomes; promote it only if it is at least as good
    on held-out rows (accuracy at the current cost, and AIQ). Exit 0 promoted, 1 rejected."""
    from cadre.cli.router_learned import _jsonable
    from cadre.runtime.gateway.retrain import retrain

    report = retrain(log, current, output, table, holdout, seed, force,
                     progress=None if as_json else (lambda msg: typer.echo(f"  {msg}", err=True)))
    if as_json:
        typer.echo(json.dumps(_jsonable(report), indent=2))
    else:
        fb, g = report["feedback"], report["gate"]
        typer.echo(f"feedback: {fb['used']} outcomes used of {fb['feedback']} records "
                   f"({fb['no_prompt']} without a prompt, {fb['unknown_id']} unknown ids, "
                   f"{fb['bad_lines']} unreadable lines); {report['train_rows']} training rows, "
                   f"{report['held_out_rows']} held out")
        verdict = "promoted" if g["promoted"] else "not promoted"
        typer.echo(f"{verdict}: {g['reason']}")
        typer.echo(f"wrote {output}" if report["written"] else f"{output} left untouched")
    raise typer.Exit(0 if report["gate"]["promoted"] else 1)
