"""`cadre router ...`: the shared sub-app for training, evaluating and running routers.

Command modules attach their commands to `router_app` when imported; add a module's
dotted name to COMMAND_MODULES to include it.
"""
from __future__ import annotations

import importlib

import typer

router_app = typer.Typer(help="Train, evaluate and run routers.", no_args_is_help=True)

COMMAND_MODULES = (
    "cadre.cli.router_learned",
    "cadre.cli.router_intent",
    "cadre.cli.router_collect",
    "cadre.cli.router_retrain",
)

def register(app: typer.Typer) -> None:
    """Add the `router` group, with every command module's commands, to the main app."""
    for name in COMMAND_MODULES:
        importlib.import_module(name)
    app.add_typer(router_app, name="router")
