"""What feedback checks against: the recent decisions of the log, by request id.

The index is filled from the log file itself, never from memory alone, so feedback to any
of `cadre serve --workers N` finds a decision that another worker logged, and a restart
finds the decisions before it. It reads only what it has not read yet (the log's new
bytes since the last feedback), and at most `window` bytes: after a rotation, or when more
than a window was written since, it reads the log's last `window` bytes afresh. Nothing is
read at start-up; ids older than the window (or past `max_ids`) are unknown to feedback.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from cadre.runtime.gateway.logfiles import read_from, read_window


@dataclass
class Entry:
    """One logged decision, as feedback needs it."""

    token_sha256: str | None      # the hash of the request's feedback token
    model: str | None             # the model that answered
    models: frozenset[str]        # the models feedback may name: the answer and the candidates
    feedback: int = 0             # feedback records seen for it


def allowed_models(record: dict) -> frozenset[str]:
    """The answering model and, for a learned choice, its candidate models (a keyword or
    nano decision's candidates are routes, not models)."""
    names = {m for m, info in (record.get("candidates") or {}).items() if isinstance(info, dict) and "label" in info}
    if record.get("model"):
        names.add(record["model"])
    return frozenset(n for n in names if isinstance(n, str))


class FeedbackIndex:
    """Recent decisions by id, with their feedback counts, caught up from the log on demand."""

    def __init__(self, path: Path, window: int = 16 << 20, max_ids: int = 200_000,
                 entries: OrderedDict | None = None):
        """`entries`: a dict shared with the indexes of the log's other shards (then a
        re-read of this file's window adds to it rather than starting it afresh)."""
        self.path, self.window, self.max_ids = Path(path), window, max_ids
        self.shared = entries is not None
        self.entries: OrderedDict[str, Entry] = entries if entries is not None else OrderedDict()
        self._inode: int | None = None
        self._offset = 0

    def get(self, request_id: str) -> Entry | None:
        return self.entries.get(request_id)

    def catch_up(self) -> None:
        """Read what was appended since the last call (the window afresh after a rotation)."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            stat = None
        if stat is None or stat.st_ino != self._inode or stat.st_size < self._offset \
                or stat.st_size - self._offset > self.window:
            if not self.shared:
                self.entries.clear()
            records, self._inode, self._offset = read_window(self.path, self.window)
        elif stat.st_size > self._offset:
            records, self._offset = read_from(self.path, self._offset, stat.st_size)
        else:
            return
        for record in records:
            self._apply(record)

    def _apply(self, record: dict) -> None:
        rid = record.get("id")
        if not isinstance(rid, str):
            return
        if record.get("type") == "decision":
            self.entries[rid] = Entry(record.get("token_sha256"), record.get("model"), allowed_models(record))
            self.entries.move_to_end(rid)
            if len(self.entries) > self.max_ids:
                self.entries.popitem(last=False)
        elif record.get("type") == "feedback" and rid in self.entries:
            self.entries[rid].feedback += 1


class ShardedIndex:
    """The index of a log written in shards (one per `cadre serve --ray` ingress replica):
    one FeedbackIndex per shard file, all filling one dict, so feedback sent to any replica
    finds a decision another replica logged. New shard files are picked up as they appear."""

    def __init__(self, base: Path, window: int = 16 << 20, max_ids: int = 200_000):
        self.base, self.window, self.max_ids = Path(base), window, max_ids
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.shards: dict[Path, FeedbackIndex] = {}

    def get(self, request_id: str) -> Entry | None:
        return self.entries.get(request_id)

    def catch_up(self) -> None:
        from cadre.runtime.gateway.logfiles import shard_paths

        for path in shard_paths(self.base):
            if path not in self.shards:
                self.shards[path] = FeedbackIndex(path, self.window, self.max_ids, self.entries)
            self.shards[path].catch_up()
