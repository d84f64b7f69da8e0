"""Declaring CLI verbs, the one way: a verb module marks each command function with
`@verb("name")` (a top-level command) or `@verb("name", group="router")`, and
cadre.cli.main builds the app from VERB_MODULES and GROUPS. No module builds or
touches a typer app itself."""
from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

# The command groups, in the order `cadre --help` lists them (after the top-level verbs).
GROUPS = {
    "tokenizer": "Train and inspect the shared tokenizer.",
    "router": "Train, evaluate and run routers.",
    "models": "The project's models: status, memory, and one-off requests.",
    "specialist": "LoRA specialists on a pretrained base: baseline, fine-tune, gate, export.",
    "fleet": "Train and evaluate many specialists at once: Ray fan-out, SkyPilot for cloud GPUs.",
}
MARK = "__cadre_verb__"


def verb(name: str, group: str | None = None) -> Callable:
    """Mark a function as the command `cadre [group] name`."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown command group {group!r}; groups: {', '.join(GROUPS)}")

    def mark(fn: Callable) -> Callable:
        setattr(fn, MARK, (group, name))
        return fn
    return mark


def verbs_of(module: ModuleType) -> list[tuple[str | None, str, Callable]]:
    """(group, name, function) of every command a module defines, in definition order."""
    return [(*getattr(fn, MARK), fn) for fn in vars(module).values()
            if callable(fn) and hasattr(fn, MARK) and getattr(fn, "__module__", None) == module.__name__]
