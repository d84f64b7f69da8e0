"""CLI verbs are declared one way: `@verb(name[, group])` in a verb module, and
cadre.cli.main builds every typer app from those marks."""
from __future__ import annotations

import importlib
from pathlib import Path

from typer.testing import CliRunner

from cadre.cli.main import VERB_MODULES, app
from cadre.cli.verbs import GROUPS, verbs_of

CLI = Path(__file__).resolve().parents[2] / "cadre" / "cli"


def test_only_main_builds_typer_apps_and_every_command_is_a_marked_verb():
    builders = sorted(p.name for p in CLI.glob("*.py") if p.name != "main.py"
                      and any(w in p.read_text() for w in ("typer.Typer(", ".command(", "add_typer(", "def register(")))
    assert builders == [], f"register commands with @verb instead: {builders}"
    marked = [(g, n) for m in VERB_MODULES for g, n, _ in verbs_of(importlib.import_module(m))]
    assert len(marked) == len(set(marked)) == 25
    assert {g for g, _ in marked} - {None} == set(GROUPS)


def test_every_verb_and_group_answers_help():
    runner = CliRunner()
    for args in ([], *([g] for g in GROUPS), ["router", "train"], ["route"], ["fleet", "launch"]):
        result = runner.invoke(app, [*args, "--help"], terminal_width=200)
        assert result.exit_code == 0, (args, result.output)
    top = runner.invoke(app, ["--help"], terminal_width=200).output
    for name in ("train", "eval", "generate", "presets", "route", "serve", "scoreboard", *GROUPS):
        assert f"│ {name} " in top, name
