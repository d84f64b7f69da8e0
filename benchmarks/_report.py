"""Shared helpers for benchmarks: machine description, tables, and writing one section
of docs/benchmarks.md atomically without touching the other sections."""
from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nEvery table below is written by a script in `benchmarks/`; the command is under each heading.\n"


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = ""
    try:
        import torch

        if torch.cuda.is_available():
            gpu = f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} cores{gpu}, Python {platform.python_version()}"


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table; floats are printed with 4 significant digits."""
    def cell(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, body: str, command: str) -> None:
    """Replace (or append) the section `name` in docs/benchmarks.md, atomically."""
    from cadre.fsutil import atomic_write_text

    stamp = f"_{dt.date.today().isoformat()}, {machine()}_"
    block = (f"<!-- BEGIN {name} -->\n## {name}\n\n`{command}`\n\n{stamp}\n\n{body.strip()}\n"
             f"<!-- END {name} -->")
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else HEADER
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    atomic_write_text(DOC, text)
