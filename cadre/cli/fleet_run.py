"""`cadre fleet run` and `cadre fleet report`."""
from __future__ import annotations

import signal
from pathlib import Path
from typing import List, Optional

import typer

from cadre.cli.verbs import verb


@verb("run", group="fleet")
def run_cmd(
        specs: Optional[List[str]] = typer.Argument(None, help="Catalog names (cadre specialist list)."),
        run_all: bool = typer.Option(False, "--all", help="Every specialist of the catalog."),
        ray_address: Optional[str] = typer.Option(
            None, "--ray", help="Join this Ray cluster (HOST:PORT, ray://HOST:PORT or auto); "
                                "default: start a local Ray instance on this machine."),
        local_test: bool = typer.Option(False, "--local-test", help="Each specialist's quick CPU recipe."),
        output: Path = typer.Option(Path("runs/fleet"), "--output", help="Fleet folder: one run folder per "
                                    "specialist, plus fleet.json and fleet.md."),
        retries: int = typer.Option(2, "--retries", min=0, max=20,
                                    help="Times a failed or killed task is run again."),
        catalog_dir: Optional[Path] = typer.Option(None, "--catalog", help="Catalog folder (default configs/specialists)."),
        max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Cap each run's optimizer steps."),
        cpus: Optional[int] = typer.Option(None, "--cpus", min=1, help="CPUs of the local Ray instance (default: all)."),
        fresh: bool = typer.Option(False, "--fresh", help="Rerun every specialist, even finished ones."),
        overwrite: bool = typer.Option(False, "--overwrite",
                                       help="Replace an --output that is not a fleet folder."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress lines."),
) -> None:
    """Run specialist pipelines (baseline → LoRA → gate → export) as Ray tasks.

    Exit 0 when every gate passed, 3 when a gate was missed, 1 when a specialist could
    not finish, 2 for bad input (nothing is started), 130 when interrupted (finished
    reports are kept; rerun to resume).
    """
    from cadre.fleet.plan import plan
    from cadre.fleet.runner import FleetInterrupted, run_fleet
    from cadre.fleet.state import KIND, render
    from cadre.outputs import claim_output
    from cadre.training.lora.catalog import CATALOG_DIR

    claim_output(output, (KIND,), overwrite=overwrite, resume=True)
    _sigterm_as_ctrl_c()
    tasks = plan(list(specs or []), run_all, local_test, output, catalog_dir or CATALOG_DIR, max_steps)
    _check_judges(tasks)
    try:
        result = run_fleet(tasks, output, ray_address, retries, resume=not fresh, num_cpus=cpus,
                           progress=not quiet)
    except FleetInterrupted as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(130) from None
    except KeyboardInterrupt:  # before any task was submitted
        raise typer.Exit(130) from None
    typer.echo(render(result.rows))
    typer.echo(f"\n{len(result.rows)} specialist(s) in {result.seconds:.0f} s on Ray ({result.cluster['address']}); "
               f"report in {output / 'fleet.md'}")
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@verb("report", group="fleet")
def report_cmd(output: Path = typer.Option(Path("runs/fleet"), "--output", help="Fleet folder.")) -> None:
    """Print the fleet report of a fleet folder."""
    from cadre.errors import CadreError
    from cadre.fleet.runner import read_rows
    from cadre.fleet.state import render

    rows = read_rows(output)
    if not rows:
        raise CadreError(f"{output}: no fleet report here (run `cadre fleet run` first)")
    typer.echo(render(rows))


def _sigterm_as_ctrl_c() -> None:
    """SIGTERM (a scheduler, `kill`, a closed session) stops the fleet as Ctrl-C does:
    tasks cancelled, finished rows saved, Ray shut down, exit 130; a rerun resumes."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _check_judges(tasks) -> None:
    """The code judge needs its sandbox: refuse at start-up, before Ray starts."""
    if any(t.spec.get("judge") == "code" for t in tasks):
        from cadre.evaluation import sandbox

        sandbox.check(False)
