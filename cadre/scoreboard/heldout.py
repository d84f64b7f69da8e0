"""Held-out files: JSONL, one example per line, checked field by field.

A missing or malformed file is a CadreError naming the file (and the line), in one line.
"""
from __future__ import annotations

import json
from pathlib import Path

from cadre.errors import CadreError

# job → (file name, required fields and their types)
JOBS = {
    "intent": ("intent.jsonl", {"text": str, "label": str}),
    "code": ("code.jsonl", {"prompt": str, "tests": list}),
    "math": ("math.jsonl", {"problem": str, "answer": (int, float, str)}),
    "vision": ("vision.jsonl", {"features": str, "caption": str}),
}
DEFAULT_DIR = Path("data/heldout")


def heldout_path(folder: str | Path, job: str) -> Path:
    """Where a job's held-out file lives in `folder`."""
    return Path(folder) / JOBS[job][0]


def load_heldout(folder: str | Path, job: str, limit: int | None = None) -> list[dict]:
    """The examples of one job, validated; `limit` keeps the first N (for labelled files,
    the first N taken one label at a time, so a short run still covers every label)."""
    path = heldout_path(folder, job)
    if not path.is_file():
        raise CadreError(f"{path}: held-out file not found (the {job} route needs it; see data/heldout/README.md)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CadreError(f"{path}: cannot read held-out file ({exc})") from None
    rows = [_parse(path, n, line, JOBS[job][1]) for n, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        raise CadreError(f"{path}: held-out file has no examples")
    if limit and "label" in JOBS[job][1]:
        rows = _round_robin(rows)  # the first N then cover the labels evenly
    return rows[:limit] if limit else rows


def _round_robin(rows: list[dict]) -> list[dict]:
    """Rows reordered one label at a time (first of each label, then second, ...)."""
    by_label: dict[str, list[dict]] = {}
    for row in rows:
        by_label.setdefault(row["label"], []).append(row)
    out, depth = [], max(len(v) for v in by_label.values())
    for i in range(depth):
        out += [group[i] for group in by_label.values() if i < len(group)]
    return out


def _parse(path: Path, lineno: int, line: str, fields: dict) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CadreError(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise CadreError(f"{path}:{lineno}: each line must be a JSON object")
    for name, kind in fields.items():
        if name not in row:
            raise CadreError(f"{path}:{lineno}: missing field {name!r} (needs {', '.join(fields)})")
        if not isinstance(row[name], kind) or (isinstance(row[name], str) and not row[name].strip()):
            raise CadreError(f"{path}:{lineno}: field {name!r} must be a non-empty "
                             f"{getattr(kind, '__name__', 'number or string')}")
    return row
