"""Intent benchmarks bundled in data/intents/: CLINC150 (with its out-of-scope splits)
and Banking77. Both are CC BY; see data/intents/ATTRIBUTION.md.

Each loader returns `Example(question=text, label=intent)` lists; CLINC150's `oos`
rows keep the label `oos`, which routers treat as out of scope.
"""
from __future__ import annotations

import json
from pathlib import Path

from cadre.data.examples import Example, read_text_file
from cadre.errors import CadreError

INTENTS_DIR = Path(__file__).resolve().parents[2] / "data" / "intents"
CLINC_SPLITS = ("train", "val", "test")
BANKING_SPLITS = ("train", "test")


def intents_dir(root: str | Path | None = None) -> Path:
    """The folder holding clinc150/ and banking77/ (the repo's data/intents by default)."""
    return Path(root) if root is not None else INTENTS_DIR


def load_clinc150(split: str = "train", oos: bool = True, root: str | Path | None = None) -> list[Example]:
    """CLINC150 `split` (train, val, test); `oos=True` appends that split's oos rows."""
    if split not in CLINC_SPLITS:
        raise CadreError(f"unknown CLINC150 split {split!r}; use one of {', '.join(CLINC_SPLITS)}")
    path = intents_dir(root) / "clinc150" / "data_full.json"
    try:
        data = json.loads(read_text_file(path))
    except json.JSONDecodeError as exc:
        raise CadreError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    keys = [split] + ([f"oos_{split}"] if oos else [])
    missing = [k for k in keys if k not in data]
    if missing:
        raise CadreError(f"{path}: no {missing[0]!r} split; is this CLINC150's data_full.json?")
    return [Example(question=text, label=label, source=f"{path}:{key}[{i}]")
            for key in keys for i, (text, label) in enumerate(data[key])]


def load_banking77(split: str = "train", root: str | Path | None = None) -> list[Example]:
    """Banking77 `split` (train, test) from its CSV (columns text,category)."""
    from cadre.data.tabular import load_table

    if split not in BANKING_SPLITS:
        raise CadreError(f"unknown Banking77 split {split!r}; use one of {', '.join(BANKING_SPLITS)}")
    return load_table(intents_dir(root) / "banking77" / f"{split}.csv")


def banking77_categories(root: str | Path | None = None) -> list[str]:
    """The 77 Banking77 category names, in the order of categories.json."""
    path = intents_dir(root) / "banking77" / "categories.json"
    return list(json.loads(read_text_file(path)))
