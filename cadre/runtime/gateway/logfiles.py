"""The decision log's files: size-based rotation, and reading across the rotated files.

The log is `decisions.jsonl`; when a record would take it past `max_bytes`, it becomes
`decisions.jsonl.1` (the older ones move up to `.2` ... `.keep`, the oldest is dropped),
so the log never holds more than about (keep + 1) × max_bytes. Several processes
(`cadre serve --workers N`) may append to one log: rotation takes an exclusive `flock` on
`decisions.jsonl.lock` and checks the size again under it, so only one of them rotates.

Readers take every file, oldest first, and skip (and count) a line that does not parse: a
torn last line left by a crash, in any of the files.

One log may also be several shards: `cadre serve --ray` gives each ingress replica its own
file, `decisions-<replica>.jsonl` beside `decisions.jsonl`, each rotating as above.
`read_log` and `tail` take the base path and read every shard with it, as one log in time
order (`shard_paths`).
"""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cadre.errors import CadreError

BLOCK = 1 << 16


@dataclass
class LogContents:
    """What a log holds: decision records, feedback records, and unreadable lines."""

    decisions: list[dict] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)


def rotated(path: Path, k: int) -> Path:
    return path.with_name(f"{path.name}.{k}")


def log_files(path: str | Path) -> list[Path]:
    """The log's files that exist, oldest first: decisions.jsonl.N ... .1, decisions.jsonl."""
    path = Path(path)
    older, k = [], 1
    while rotated(path, k).is_file():
        older.append(rotated(path, k))
        k += 1
    return [*reversed(older), *([path] if path.is_file() else [])]


def shard_path(path: str | Path, shard: str) -> Path:
    """The file of one shard of the log at `path`: `<stem>-<shard><suffix>` beside it."""
    path = Path(path)
    safe = "".join(c if c.isalnum() or c in "._" else "_" for c in str(shard))[:80]
    return path.with_name(f"{path.stem}-{safe}{path.suffix}")


def shard_paths(path: str | Path) -> list[Path]:
    """The log's base path and its shards' paths (`<stem>-*<suffix>`, those with a file)."""
    path = Path(path)
    pattern = f"{_glob_escape(path.stem)}-*{_glob_escape(path.suffix)}"
    shards = sorted(p for p in path.parent.glob(pattern) if p.is_file()) if path.parent.is_dir() else []
    return [path, *shards]


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def rotate(path: Path, keep: int, fits: int) -> None:
    """Move the log to .1 (and the older files up) unless another process just did: under
    the lock, only when the file is still larger than `fits` bytes."""
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_size <= fits:
                return
        except FileNotFoundError:
            return
        if keep < 1:
            os.unlink(path)
            return
        for k in range(keep - 1, 0, -1):
            if rotated(path, k).exists():
                os.replace(rotated(path, k), rotated(path, k + 1))
        os.replace(path, rotated(path, 1))


def parse(raw: bytes):
    """One line's record (a dict), or None for a torn or garbled line."""
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) else None


def read_log(path: str | Path) -> LogContents:
    """Every readable record of a log, its rotated files and its shards, oldest first; a
    torn or garbled line is skipped and counted (its number counts lines across the files)."""
    shards = [files for files in map(log_files, shard_paths(path)) if files]
    if not shards:
        raise CadreError(f"{path}: decision log not found")
    out, number = LogContents(), 0
    for file in (f for files in shards for f in files):
        with file.open("rb") as f:
            for raw in f:
                number += 1
                if not raw.strip():
                    continue
                record = parse(raw)
                if record is None:
                    out.bad_lines.append(number)
                elif record.get("type") == "feedback":
                    out.feedback.append(record)
                elif record.get("type") == "decision":
                    out.decisions.append(record)
    if len(shards) > 1:  # one log: the shards' records in time order (stable within a file)
        out.decisions.sort(key=record_time)
        out.feedback.sort(key=record_time)
    return out


def record_time(record: dict) -> float:
    value = record.get("time")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def lines_backward(path: Path, budget: int):
    """The file's lines, newest first, reading at most `budget` bytes from its end; a line
    cut by the budget is not yielded."""
    try:
        f = path.open("rb")
    except OSError:
        return
    with f:
        end = os.fstat(f.fileno()).st_size
        pos, rest = end, b""
        while pos > 0 and end - pos < budget:
            size = min(BLOCK, pos)
            pos -= size
            f.seek(pos)
            lines = (f.read(size) + rest).split(b"\n")
            rest = lines[0]
            yield from reversed(lines[1:])
        if pos == 0:
            yield rest


def tail(path: str | Path, n: int, max_bytes: int = 16 << 20) -> list[dict]:
    """The last `n` decisions of a log (across its rotated files and shards), newest first,
    each with its latest feedback score (None when none came). At most `max_bytes` are read
    per shard, from the end, so a torn or huge last line cannot hide the records before it."""
    if n <= 0:
        return []
    decisions, feedback = [], []
    for shard in shard_paths(path):
        found, scores = _tail_one(shard, n, max_bytes)
        decisions.extend(found)
        feedback.extend(scores)
    latest = {}
    for record in sorted(feedback, key=record_time):
        latest[record.get("id")] = record.get("score")
    decisions.sort(key=record_time, reverse=True)
    return [{**d, "feedback": latest.get(d.get("id"))} for d in decisions[:n]]


def _tail_one(path: Path, n: int, budget: int) -> tuple[list[dict], list[dict]]:
    """One shard's last `n` decisions (newest first) and the feedback records read with them."""
    decisions, feedback = [], []
    for file in reversed(log_files(path)):
        for raw in lines_backward(file, budget):
            budget -= len(raw) + 1
            record = parse(raw) if raw.strip() else None
            if record is None:
                continue
            if record.get("type") == "feedback":
                feedback.append(record)
            elif record.get("type") == "decision":
                decisions.append(record)
                if len(decisions) >= n:
                    break
        if len(decisions) >= n or budget <= 0:
            break
    return decisions, feedback


def read_from(path: Path, start: int, end: int) -> tuple[list[dict], int]:
    """The records of the whole lines in [start, end) of a file, and the offset after the
    last of them (a line still being written is left for the next read). A `start` inside
    a line skips to the next one."""
    with path.open("rb") as f:
        f.seek(max(start - 1, 0))
        data = f.read(end - start + (start > 0))
    if start > 0:  # drop the byte before `start`, and the rest of a line it cuts
        first = data.find(b"\n")
        data = data[first + 1:] if first >= 0 else b""
    cut = data.rfind(b"\n") + 1
    records = [r for r in map(parse, data[:cut].split(b"\n")) if r is not None]
    return records, end - (len(data) - cut)


def read_window(path: Path, budget: int) -> tuple[list[dict], int | None, int]:
    """The records of the log's last `budget` bytes across its files, oldest first, with
    the current file's inode and the offset read up to (None, 0 when it does not exist)."""
    chunks, inode, offset = [], None, 0
    for file in reversed(log_files(path)):
        try:
            stat = file.stat()
        except FileNotFoundError:
            continue
        start = max(0, stat.st_size - budget)
        records, end = read_from(file, start, stat.st_size)
        if file == path:
            inode, offset = stat.st_ino, end
        chunks.append(records)
        budget -= stat.st_size - start
        if budget <= 0:
            break
    return [r for chunk in reversed(chunks) for r in chunk], inode, offset
