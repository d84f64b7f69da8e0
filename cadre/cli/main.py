"""Entry point of the `cadre` command.

Every verb module exposes `register(app)`. A CadreError anywhere becomes one line on
stderr and its exit code (2 for bad input, 3 for a missed gate), never a traceback.
"""
from __future__ import annotations

import importlib

import typer
from typer.core import TyperGroup

from cadre.errors import CadreError

# Verb modules, in the order `cadre --help` lists them.
VERB_MODULES = (
    "cadre.cli.train",
    "cadre.cli.tokenizer",
    "cadre.cli.presets",
    "cadre.cli.router",
    "cadre.cli.router_intent",
    "cadre.cli.models",
    "cadre.cli.serve",
    "cadre.cli.specialist",
    "cadre.cli.fleet",
    "cadre.cli.scoreboard",
)


class CadreGroup(TyperGroup):
    """A click group that turns CadreError into a one-line error and exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CadreError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None


def build_app() -> typer.Typer:
    """Build the CLI, registering every verb module that is installed."""
    cli = typer.Typer(cls=CadreGroup, no_args_is_help=True, add_completion=False,
                      help="Train, evaluate and serve a team of specialist models behind one router.")
    for name in VERB_MODULES:
        importlib.import_module(name).register(cli)
    return cli


app = build_app()

if __name__ == "__main__":
    app()
