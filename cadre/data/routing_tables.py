"""Routing tables for the learned router: JSONL (optionally gzip) with one prompt per row,
or one JSON list of the same rows (seed 003's `hf_evaluations_train.json`).

Each row holds `prompt`, `model_scores` (model → 0/1 or a score in [0, 1]) and optionally
`model_costs` (model → cost per call) and `images` (paths, relative to the table's folder,
or base64). Any other key (`routerdc_split`, `task`, ...) passes through in `row.extra`.

Bad input is handled per row and counted in a `TableReport`, never silently:

- a null, non-numeric or out-of-range score, or a listed model absent from the row, makes
  the row *partial*: it is kept, the model's entry is masked (`missing_scores`); a row with
  no usable score at all is dropped (`no_scores`);
- a score for a model outside the given model list is dropped (`unknown_models`);
- an empty prompt drops the row (`empty_prompts`);
- a prompt that is a list of turns is reduced to the **last user turn** (`list_prompts`):
  the router decides who answers the turn being asked, and in RouterBench's list prompts
  each turn repeats the whole few-shot context, so joining them would only duplicate it;
- an image that does not decode is dropped from its row (`bad_images`);
- a line that is not a JSON object is skipped (`bad_lines`).

If no row survives, the reader raises a CadreError quoting the first problems (file:line).
"""
from __future__ import annotations

import gzip
import io
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from cadre.errors import CadreError

CORE_KEYS = ("prompt", "model_scores", "model_costs", "images")
_MAX_PROBLEMS = 5


@dataclass
class RoutingRow:
    """One usable row: the prompt text, known models' scores and costs, images, extras."""

    prompt: str
    scores: dict[str, float]
    costs: dict[str, float] = field(default_factory=dict)
    images: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    line: int = 0

    def to_record(self) -> dict:
        """The row as a routing-table JSON object."""
        rec = {"prompt": self.prompt, "model_scores": self.scores}
        if self.costs:
            rec["model_costs"] = self.costs
        if self.images:
            rec["images"] = self.images
        return {**rec, **self.extra}


@dataclass
class ReadReport:
    """What a JSONL reader kept and skipped, with the first few problems as file:line."""

    path: str = ""
    rows_read: int = 0
    rows_kept: int = 0
    bad_lines: int = 0
    empty_prompts: int = 0
    problems: list = field(default_factory=list)

    def note(self, line: int, message: str) -> None:
        """Remember one of the first few problems as `file:line: message`."""
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(f"{self.path}:{line}: {message}")

    def to_dict(self) -> dict:
        """All counts as a JSON-ready dict."""
        return asdict(self)


@dataclass
class TableReport(ReadReport):
    """Counts of what the routing-table reader kept, repaired and dropped."""

    list_prompts: int = 0
    no_scores: int = 0
    missing_scores: int = 0
    unknown_models: int = 0
    unknown_model_names: list = field(default_factory=list)
    bad_costs: int = 0
    bad_images: int = 0

    def summary(self) -> str:
        """One line: rows kept, then every non-zero problem count."""
        counts = {k: v for k, v in self.to_dict().items()
                  if isinstance(v, int) and k not in ("rows_read", "rows_kept") and v}
        extra = ", ".join(f"{k}={v}" for k, v in counts.items()) or "no problems"
        return f"{self.rows_kept}/{self.rows_read} rows kept ({extra})"


@dataclass
class RoutingTable:
    """The rows, the model list they are aligned to, and the reader's report."""

    rows: list[RoutingRow]
    models: list[str]
    report: TableReport

    @property
    def prompts(self) -> list[str]:
        """Prompt text of every row."""
        return [r.prompt for r in self.rows]

    def score_matrix(self) -> np.ndarray:
        """(N, M) float32 scores; NaN where a model's score is missing."""
        return _matrix(self.rows, self.models, "scores")

    def cost_matrix(self) -> np.ndarray:
        """(N, M) float32 costs; NaN where the table gives none."""
        return _matrix(self.rows, self.models, "costs")

    def column(self, name: str, default=None) -> list:
        """A passthrough column (such as `routerdc_split`) for every row."""
        return [r.extra.get(name, default) for r in self.rows]

    def subset(self, index: Sequence[int]) -> "RoutingTable":
        """A table with only the rows at `index` (the report is shared)."""
        return RoutingTable([self.rows[i] for i in index], self.models, self.report)


def _matrix(rows: list[RoutingRow], models: list[str], attr: str) -> np.ndarray:
    out = np.full((len(rows), len(models)), np.nan, dtype=np.float32)  # (N, M)
    col = {m: j for j, m in enumerate(models)}
    for i, row in enumerate(rows):
        for m, v in getattr(row, attr).items():
            if m in col:
                out[i, col[m]] = v
    return out


def prompt_text(value) -> tuple[str, bool]:
    """Normalise a prompt to text; returns (text, was_a_list).

    A list of strings gives its last non-empty item; a list of chat messages gives the last
    `user` message's content (text parts joined).
    """
    if isinstance(value, str):
        return value, False
    if isinstance(value, dict):
        return _message_text(value), False
    if isinstance(value, list):
        turns = [t for t in value if isinstance(t, (str, dict))]
        users = [t for t in turns if isinstance(t, str) or t.get("role", "user") == "user"]
        for turn in reversed(users):
            text = turn if isinstance(turn, str) else _message_text(turn)
            if text.strip():
                return text, True
        return "", True
    return "", False


def _message_text(message: dict) -> str:
    content = message.get("content", "")
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _score(value) -> float | None:
    """A score in [0, 1] as float, or None when missing or invalid."""
    if isinstance(value, bool):
        return float(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if 0.0 <= x <= 1.0 else None


def _open_text(path: Path):
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_records(path: str | Path) -> Iterable[tuple[int, object]]:
    """Yield (row number, parsed JSON or the exception) for each record: each non-blank
    line of JSONL, or each item of a file that holds one JSON list (seed 003's
    `hf_evaluations_*.json`), numbered from 1."""
    path = Path(path)
    if not path.is_file():
        raise CadreError(f"{path}: routing table not found")
    try:
        with _open_text(path) as f:
            head = f.read(1)
            while head and head.isspace():
                head = f.read(1)
            if head == "[":
                yield from _list_records(path, head + f.read())
                return
            f.seek(0)
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield n, json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield n, exc
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CadreError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None


def _list_records(path: Path, text: str) -> Iterable[tuple[int, object]]:
    """The items of a whole-file JSON list; a file that does not parse is one error."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CadreError(f"{path}: starts with '[' but is not a JSON list ({exc})") from None
    if not isinstance(items, list):
        raise CadreError(f"{path}: not a JSON list")
    yield from enumerate(items, 1)


def read_routing_table(path: str | Path, models: Sequence[str] | None = None,
                       check_images: bool = True) -> RoutingTable:
    """Read a routing table, repairing or dropping bad rows and counting each case.

    `models` fixes the model list (others are counted as unknown); by default it is every
    model named in the file, sorted. `check_images` decodes each image once to count the
    ones that fail.
    """
    path = Path(path)
    report = TableReport(path=str(path))
    records = []
    for n, rec in iter_records(path):
        report.rows_read += 1
        if not isinstance(rec, dict):
            report.bad_lines += 1
            report.note(n, "not a JSON object" if not isinstance(rec, Exception) else f"bad JSON ({rec})")
            continue
        records.append((n, rec))
    if models is None:
        models = sorted({m for _, rec in records if isinstance(rec.get("model_scores"), dict)
                         for m in rec["model_scores"]})
    models = list(models)
    rows = [row for n, rec in records
            if (row := _parse_row(n, rec, models, report, path.parent, check_images)) is not None]
    report.rows_kept = len(rows)
    report.unknown_model_names = sorted(set(report.unknown_model_names))
    if not rows:
        first = "; ".join(report.problems) or "the file is empty"
        raise CadreError(f"{path}: no usable routing rows ({first})")
    return RoutingTable(rows, models, report)


def _parse_row(n: int, rec: dict, models: list[str], report: TableReport, base_dir: Path,
               check_images: bool) -> RoutingRow | None:
    """One record → RoutingRow, or None when the row must be dropped (counted)."""
    text, was_list = prompt_text(rec.get("prompt"))
    report.list_prompts += was_list
    if not text.strip():
        report.empty_prompts += 1
        report.note(n, "empty prompt")
        return None
    raw = rec.get("model_scores")
    if not isinstance(raw, dict):
        report.no_scores += 1
        report.note(n, "model_scores is missing or not an object")
        return None
    scores = _known_scores(n, raw, models, report)
    if not scores:
        report.no_scores += 1
        report.note(n, "no usable score for any known model")
        return None
    if len(scores) < len(models):
        report.missing_scores += 1
    costs = _costs(n, rec.get("model_costs"), models, report)
    images = _images(n, rec.get("images"), report, base_dir, check_images)
    extra = {k: v for k, v in rec.items() if k not in CORE_KEYS}
    return RoutingRow(text, scores, costs, images, extra, n)


def _known_scores(n: int, raw: dict, models: list[str], report: TableReport) -> dict[str, float]:
    known = set(models)
    unknown = [m for m in raw if m not in known]
    if unknown:
        report.unknown_models += len(unknown)
        report.unknown_model_names.extend(unknown)
        report.note(n, f"unknown model(s) {unknown[:3]}")
    return {m: s for m in models if m in raw and (s := _score(raw[m])) is not None}


def _costs(n: int, raw, models: list[str], report: TableReport) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        report.bad_costs += 1
        report.note(n, "model_costs is not an object")
        return {}
    out = {}
    for m in models:
        if m in raw and raw[m] is not None:
            try:
                c = float(raw[m])
            except (TypeError, ValueError):
                c = -1.0
            if c < 0 or math.isnan(c):
                report.bad_costs += 1
                continue
            out[m] = c
    return out


def _images(n: int, raw, report: TableReport, base_dir: Path, check: bool) -> list:
    """Keep the images that decode; relative paths become absolute."""
    from cadre.data.images import is_file, open_image

    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    kept = []
    for item in items:
        if isinstance(item, str) and len(item) < 4096 and not Path(item).is_absolute() \
                and is_file(base_dir / item):
            item = str((base_dir / item).resolve())
        if check:
            try:
                open_image(item, base_dir)
            except CadreError as exc:
                report.bad_images += 1
                report.note(n, str(exc))
                continue
        kept.append(item)
    return kept


def write_routing_table(rows: Iterable[RoutingRow | dict], path: str | Path) -> int:
    """Write rows as JSONL (gzip when the name ends in .gz) atomically; returns the count.

    Rows may be RoutingRow objects or routing-table dicts; the file appears only once it
    is complete, so a crash never leaves half a table.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    from cadre.fsutil import share_with_umask

    share_with_umask(fd)  # mkstemp's 0600 would hide the file from other users
    count = 0
    try:
        with os.fdopen(fd, "wb") as raw:
            sink = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.suffix == ".gz" else raw
            for row in rows:
                rec = row.to_record() if isinstance(row, RoutingRow) else row
                if "prompt" not in rec or "model_scores" not in rec:
                    raise CadreError(f"{path}: row {count + 1} lacks prompt or model_scores")
                sink.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
                count += 1
            if sink is not raw:
                sink.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
