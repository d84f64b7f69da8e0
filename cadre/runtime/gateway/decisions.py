"""The decision log: one JSON line per routed request, and one per feedback outcome.

The file is append-only. Each record is written with a single `write` of a whole line
under a lock, so concurrent requests never interleave. A crash mid-write can leave a torn
last line: reading skips (and counts) lines that do not parse, and opening the log for
appending first ends such a line, so the next record starts on a line of its own. The log
rotates by size (cadre/runtime/gateway/logfiles.py), so a flood cannot fill the disk.

Feedback is bound to its caller: each routed request gets a feedback token (returned only
to the requester, as `x-cadre-feedback-token`); the log keeps the token's sha256, never
the token. Feedback must carry it, may name only the request's own candidates, and at
most MAX_FEEDBACK_PER_ID records attach to one request.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import threading
import time
import uuid
from pathlib import Path

from cadre.errors import CadreError
from cadre.runtime.gateway.feedback_index import FeedbackIndex, ShardedIndex
from cadre.runtime.gateway.logfiles import LogContents, log_files, read_log, rotate, shard_path, tail  # noqa: F401

MAX_FEEDBACK_PER_ID = 8
MAX_ID_CHARS, MAX_TOKEN_CHARS, MAX_MODEL_CHARS = 64, 128, 200
DEFAULT_MAX_BYTES, DEFAULT_KEEP = 64 << 20, 4


def prompt_hash(text: str) -> str:
    """The sha256 of a prompt, hex (what the log keeps when prompts are not logged)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_request_id() -> str:
    """A request id, also the `x-cadre-request-id` header and the key feedback refers to."""
    return f"req-{uuid.uuid4().hex[:24]}"


class FeedbackError(CadreError):
    """Feedback that cannot be attached; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, param: str | None = None, code: str = "invalid_feedback"):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code


class DecisionLog:
    """Appends decision and feedback records to one JSONL file, rotated by size."""

    def __init__(self, path: str | Path, log_prompts: bool = False, max_bytes: int | None = DEFAULT_MAX_BYTES,
                 keep: int = DEFAULT_KEEP, shard: str | None = None):
        """`shard`: write this process's own file `<stem>-<shard><suffix>` beside `path`
        (`cadre serve --ray`: one per ingress replica); feedback then looks ids up in
        every shard, and `base` stays the path readers take."""
        self.base, self.log_prompts = Path(path), log_prompts
        self.path = shard_path(self.base, shard) if shard else self.base
        self.max_bytes, self.keep = max_bytes, keep
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._key = os.urandom(32)  # this process's tokens; the log keeps their hashes
        self.index = ShardedIndex(self.base) if shard else FeedbackIndex(self.path)

    def token_for(self, request_id: str) -> str:
        """The feedback token of a request id (only this process can make it)."""
        return hmac.new(self._key, request_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def _append(self, record: dict) -> None:
        line = (json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        fd = self._open()
        size = os.fstat(fd).st_size
        if self.max_bytes and size and size + len(line) > self.max_bytes:
            rotate(self.path, self.keep, self.max_bytes - len(line))
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
        """Append one decision record (`time`, the prompt hash and the token hash are added here)."""
        record = {"type": "decision", "time": round(time.time(), 3), **record,
                  "prompt_sha256": prompt_hash(prompt), "token_sha256": token_hash(self.token_for(record["id"]))}
        if self.log_prompts:
            record["prompt"] = prompt
        with self._lock:
            self._append(record)

    def feedback(self, request_id, score, model=None, token=None) -> dict:
        """Validate and append a feedback record; FeedbackError (400/403/404/409) when it
        cannot attach."""
        _check_fields(request_id, score, model, token)
        with self._lock:
            self.index.catch_up()
            entry = self.index.get(request_id)
            if entry is None:
                raise FeedbackError(f"unknown request id {request_id!r}: no recent decision with that id "
                                    f"in the decision log", status=404, param="id", code="unknown_request_id")
            if entry.token_sha256 is None or not hmac.compare_digest(token_hash(token), entry.token_sha256):
                raise FeedbackError("token is not this request's feedback token (x-cadre-feedback-token of "
                                    "its response)", status=403, param="token", code="invalid_feedback_token")
            if model is not None and model not in entry.models:
                raise FeedbackError(f"model must be one of the request's candidates: "
                                    f"{', '.join(sorted(entry.models))}", param="model")
            if entry.feedback >= MAX_FEEDBACK_PER_ID:
                raise FeedbackError(f"request {request_id!r} already has {MAX_FEEDBACK_PER_ID} feedback "
                                    f"records, the most one request takes", status=409, param="id",
                                    code="feedback_limit")
            record = {"type": "feedback", "time": round(time.time(), 3), "id": request_id,
                      "score": float(score), "model": model or entry.model}
            self._append(record)
        return record


def _check_fields(request_id, score, model, token) -> None:
    if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID_CHARS:
        raise FeedbackError("id must be the request id of a routed request (x-cadre-request-id)", param="id")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1 \
            or math.isnan(score):
        raise FeedbackError(f"score must be a number from 0 to 1, not {str(score)[:40]!r}", param="score")
    if model is not None and (not isinstance(model, str) or not 0 < len(model) <= MAX_MODEL_CHARS):
        raise FeedbackError(f"model must be a model name of at most {MAX_MODEL_CHARS} characters", param="model")
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        raise FeedbackError("token is required: the x-cadre-feedback-token header of the request's response",
                            param="token")


def _ends_torn(fd: int) -> bool:
    """Whether the file is non-empty and its last byte is not a newline."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"
