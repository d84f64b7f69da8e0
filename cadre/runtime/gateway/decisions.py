"""The decision log: one JSON line per routed request, and one per feedback outcome.

The file is append-only. Each record is written with a single `write` of a whole line
under a lock, so concurrent requests never interleave. A crash mid-write can leave a torn
last line: reading skips (and counts) lines that do not parse, and opening the log for
appending first ends such a line, so the next record starts on a line of its own.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cadre.errors import CadreError

MAX_KNOWN_IDS = 1_000_000  # ids remembered for feedback; the oldest are forgotten first


def prompt_hash(text: str) -> str:
    """The sha256 of a prompt, hex (what the log keeps when prompts are not logged)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_request_id() -> str:
    """A request id, also the `x-cadre-request-id` header and the key feedback refers to."""
    return f"req-{uuid.uuid4().hex[:24]}"


class FeedbackError(CadreError):
    """Feedback that cannot be attached; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, param: str | None = None):
        super().__init__(message)
        self.status, self.param = status, param


@dataclass
class LogContents:
    """What a log holds: decision records, feedback records, and unreadable lines."""

    decisions: list[dict] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)


def read_log(path: str | Path) -> LogContents:
    """Every readable record of a log; a torn or garbled line is skipped and counted."""
    path = Path(path)
    if not path.is_file():
        raise CadreError(f"{path}: decision log not found")
    out = LogContents()
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                out.bad_lines.append(number)
                continue
            if not isinstance(record, dict):
                out.bad_lines.append(number)
            elif record.get("type") == "feedback":
                out.feedback.append(record)
            elif record.get("type") == "decision":
                out.decisions.append(record)
    return out


def tail(path: str | Path, n: int, max_bytes: int = 1 << 20) -> list[dict]:
    """The last `n` decisions of a log, newest first, each with its latest feedback score
    (None when none came); only the log's last `max_bytes` are read."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            start = max(0, path.stat().st_size - max_bytes)
            f.seek(start)
            lines = f.read().splitlines()[1 if start else 0:]  # a window's first line may be cut
    except OSError:
        return []
    decisions, scores = [], {}
    for raw in lines:
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue  # a torn line, or the cut at the start of the window
        if isinstance(record, dict) and record.get("type") == "feedback":
            scores[record.get("id")] = record.get("score")
        elif isinstance(record, dict) and record.get("type") == "decision":
            decisions.append(record)
    return [{**d, "feedback": scores.get(d.get("id"))} for d in reversed(decisions[-n:])] if n > 0 else []


class DecisionLog:
    """Appends decision and feedback records to one JSONL file."""

    def __init__(self, path: str | Path, log_prompts: bool = False):
        self.path, self.log_prompts = Path(path), log_prompts
        self._lock = threading.Lock()
        self._known: dict[str, str] | None = None  # request id → model that answered
        self._fd: int | None = None
        self.bad_lines = 0

    def _load_known(self) -> dict[str, str]:
        if self._known is None:
            self._known = {}
            if self.path.is_file():
                contents = read_log(self.path)
                self.bad_lines = len(contents.bad_lines)
                for record in contents.decisions[-MAX_KNOWN_IDS:]:
                    self._known[record["id"]] = record.get("model")
        return self._known

    def _append(self, record: dict) -> None:
        line = (json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        fd = self._open()
        if _ends_torn(fd):
            os.write(fd, b"\n")  # end a torn line left by a crash; it stays skipped
        os.write(fd, line)

    def _open(self) -> int:
        """The log's file, kept open between records (opening it cost more than the record);
        reopened when the path no longer names it (rotated or deleted)."""
        fd = self._fd
        if fd is not None:
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def close(self) -> None:
        """Close the file (a later record opens it again)."""
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)

    def decision(self, record: dict, prompt: str) -> None:
        """Append one decision record (`id`, `time` and the prompt hash are added here)."""
        record = {"type": "decision", "time": round(time.time(), 3), **record,
                  "prompt_sha256": prompt_hash(prompt)}
        if self.log_prompts:
            record["prompt"] = prompt
        with self._lock:
            known = self._load_known()
            self._append(record)
            known[record["id"]] = record.get("model")
            if len(known) > MAX_KNOWN_IDS:
                known.pop(next(iter(known)))

    def feedback(self, request_id, score, model=None) -> dict:
        """Validate and append a feedback record; FeedbackError (404/400) when it cannot attach."""
        if not isinstance(request_id, str) or not request_id:
            raise FeedbackError("id must be the request id of a routed request (x-cadre-request-id)",
                                param="id")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise FeedbackError(f"score must be a number from 0 to 1, not {score!r}", param="score")
        if model is not None and (not isinstance(model, str) or not model):
            raise FeedbackError("model must be a model name", param="model")
        with self._lock:
            known = self._load_known()
            if request_id not in known:
                raise FeedbackError(f"unknown request id {request_id!r}: no decision with that id "
                                    "in the decision log", status=404, param="id")  # no server path
            record = {"type": "feedback", "time": round(time.time(), 3), "id": request_id,
                      "score": float(score), "model": model or known[request_id]}
            self._append(record)
        return record


def _ends_torn(fd: int) -> bool:
    """Whether the file is non-empty and its last byte is not a newline."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"
