"""`cadre fleet launch`: a SkyPilot task whose command is a fleet run (cadre/fleet/sky.py)."""
from __future__ import annotations

from pathlib import Path

import typer

from cadre.cli.verbs import verb
from cadre.errors import CadreError


@verb("launch", group="fleet")
def launch_cmd(
    specs: list[str] = typer.Argument(None, help="Specialists to run (catalog names); none: the YAML's own run."),
    cloud_config: Path = typer.Option(..., "--cloud-config",
                                      help="SkyPilot task YAML (configs/fleet/sky-*.yaml)."),
    all_specs: bool = typer.Option(False, "--all", help="Run every specialist of the catalog."),
    managed: bool = typer.Option(False, "--managed",
                                 help="A managed job: spot preemptions recovered (the default)."),
    cluster: str | None = typer.Option(None, "--cluster",
                                       help="Launch on this cluster instead (sky launch; autostops when idle)."),
    idle_minutes: int = typer.Option(30, "--idle-minutes", min=0,
                                     help="--cluster: stop the cluster after this many idle minutes."),
    down: bool = typer.Option(False, "--down", help="--cluster: tear it down when idle instead of stopping."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check, write and print the task; launch nothing."),
    output: Path = typer.Option(Path("runs/fleet/sky-task.yaml"), "--output",
                                help="Where the final task YAML is written."),
) -> None:
    """Check a SkyPilot task with SkyPilot's own parser, write it, print its resources, launch it."""
    from cadre.fleet import sky as fleet_sky

    if managed and cluster:
        raise CadreError("--managed and --cluster are alternatives; pass one")
    launch_plan = fleet_sky.plan(cloud_config, specs or [], all_specs)
    written = fleet_sky.write_task(launch_plan, output)
    for line in fleet_sky.describe(launch_plan.task):
        typer.echo(line)
    typer.echo(f"task YAML: {written}")
    if dry_run:
        typer.echo("dry run: nothing launched")
        return
    where = f"cluster {cluster}" if cluster else "a managed job"
    typer.echo(f"launching as {where} ...")
    fleet_sky.launch(written, cluster=cluster, idle_minutes=idle_minutes, down=down)
    hint = f"sky status {cluster}; ssh {cluster}; sky down {cluster}" if cluster else "sky jobs queue; sky jobs logs"
    typer.echo(f"launched; follow it with: {hint}")
