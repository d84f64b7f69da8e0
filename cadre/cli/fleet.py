"""`cadre fleet ...`: the whole team of specialists on an existing engine.

`run` fans the specialist pipelines out as Ray tasks (a local Ray instance by default);
`launch` writes and launches a SkyPilot task whose command is a fleet run. Command modules
attach their commands to `fleet_app` when imported.
"""
from __future__ import annotations

import importlib

import typer

fleet_app = typer.Typer(help="Train and evaluate many specialists at once: Ray fan-out, SkyPilot for cloud GPUs.",
                        no_args_is_help=True)

COMMAND_MODULES = (
    "cadre.cli.fleet_run",
    "cadre.cli.fleet_launch",
)


def register(app: typer.Typer) -> None:
    """Add the `fleet` group, with every command module's commands, to the main app."""
    for name in COMMAND_MODULES:
        importlib.import_module(name)
    app.add_typer(fleet_app, name="fleet")
