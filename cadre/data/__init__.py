"""Reading examples: the Q/A text format, CSV/JSONL tables, splits and deduplication."""
from __future__ import annotations

from pathlib import Path

from cadre.data.examples import Example


def load_examples(path: str | Path) -> list[Example]:
    """Load examples from a Q/A .txt file or a CSV/TSV/JSONL/JSON table."""
    from cadre.data.qa import load_qa
    from cadre.data.tabular import load_table

    path = Path(path)
    return load_qa(path) if path.suffix.lower() in {".txt", ".qa", ""} else load_table(path)


__all__ = ["Example", "load_examples"]
