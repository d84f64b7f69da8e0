"""The example type that every reader returns, and file-reading helpers with clear errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cadre.errors import CadreError


@dataclass
class Example:
    """One training example: a question/text and its answer or label.

    `label` is set for router examples (`A: [E:tool]code`, or a `label` column);
    `features` for vision examples (`Q: [E:vision] cat, couch`); `task` for `[TASK:x]`.
    """

    question: str
    answer: str = ""
    label: str | None = None
    task: str | None = None
    features: list[str] = field(default_factory=list)
    source: str = ""  # "file:line", for error messages

    @property
    def is_classification(self) -> bool:
        return self.label is not None


def read_text_file(path: str | Path) -> str:
    """Read a UTF-8 data file: missing, empty or non-UTF-8 files get a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise CadreError(f"{path}: data file not found")
    raw = path.read_bytes()
    if not raw.strip():
        raise CadreError(f"{path}: data file is empty")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CadreError(f"{path}:{line}: not valid UTF-8 (byte {raw[exc.start]:#04x})") from None
