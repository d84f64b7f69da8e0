"""Entry point of the `cadre` command.

Every verb module marks its commands with `@verb(name[, group])` (cadre/cli/verbs.py);
`build_app` builds the app from VERB_MODULES and the groups in cadre.cli.verbs.GROUPS. A
CadreError anywhere becomes one line on stderr and its exit code (2 for bad input, 3 for
a missed gate), never a traceback.
"""
from __future__ import annotations

import errno
import importlib

import typer
from typer.core import TyperGroup

from cadre.cli.verbs import GROUPS, verbs_of
from cadre.errors import CadreError

# Verb modules, in the order `cadre --help` lists their commands (groups follow, in
# cadre.cli.verbs.GROUPS order).
VERB_MODULES = (
    "cadre.cli.train",
    "cadre.cli.tokenizer",
    "cadre.cli.presets",
    "cadre.cli.router_learned",
    "cadre.cli.router_intent",
    "cadre.cli.router_collect",
    "cadre.cli.router_retrain",
    "cadre.cli.models",
    "cadre.cli.serve",
    "cadre.cli.specialist",
    "cadre.cli.fleet_run",
    "cadre.cli.fleet_launch",
    "cadre.cli.scoreboard",
)


class CadreGroup(TyperGroup):
    """A click group that turns CadreError into a one-line error and exit code."""

    def invoke(self, ctx):
        from cadre.outputs import release_reservations

        try:
            return super().invoke(ctx)
        except CadreError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            full = disk_full(exc)
            if full is None:
                raise
            typer.echo(f"error: {full}", err=True)
            raise typer.Exit(2) from None
        finally:
            release_reservations()  # an --output the command reserved but did not write


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_FULL_TEXTS = ("no space left on device", "disk quota exceeded", "file too large", "os error 28",
               "os error 122", "os error 27", "file write failed")


def disk_full(exc: BaseException) -> str | None:
    """One line for an error that means the disk (or the file size limit) is full, else
    None. torch and safetensors report it as their own errors, so their text is read too."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            where = f" writing {exc.filename}" if exc.filename else ""
            return f"out of disk space{where} ({exc.strerror}); free some space and run again"
        text = str(exc).lower()
        if any(t in text for t in _FULL_TEXTS):
            return (f"out of disk space ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); "
                    "free some space and run again")
        exc = exc.__cause__ or exc.__context__
    return None


def build_app() -> typer.Typer:
    """Build the CLI: every command each verb module marks with @verb, in its group."""
    cli = typer.Typer(cls=CadreGroup, no_args_is_help=True, add_completion=False,
                      help="Train, evaluate and serve a team of specialist models behind one router.")
    groups = {name: typer.Typer(help=text, no_args_is_help=True) for name, text in GROUPS.items()}
    for module in VERB_MODULES:
        for group, name, command in verbs_of(importlib.import_module(module)):
            (groups[group] if group else cli).command(name)(command)
    for name, group in groups.items():
        cli.add_typer(group, name=name)
    return cli


app = build_app()

if __name__ == "__main__":
    app()
