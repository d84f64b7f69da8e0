"""CSV/TSV/JSONL/JSON examples: `text`/`label` for classification, `question`/`answer`
for generation."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from cadre.data.examples import Example, read_text_file
from cadre.errors import CadreError

LABEL_COLUMNS = ("label", "category", "intent")  # Banking77 calls it category


def load_table(path: str | Path) -> list[Example]:
    """Read a CSV, TSV, JSONL or JSON file of examples."""
    path = Path(path)
    text = read_text_file(path)
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        rows = _csv_rows(text, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".jsonl":
        rows = _jsonl_rows(text, path)
    elif suffix == ".json":
        rows = _json_rows(text, path)
    else:
        raise CadreError(f"{path}: unsupported data format {suffix!r} (use .txt, .csv, .tsv, .jsonl or .json)")
    examples = [_example(row, f"{path}:{line}") for line, row in rows]
    if not examples:
        raise CadreError(f"{path}: no examples found")
    return examples


def _csv_rows(text: str, delimiter: str):
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    for row in reader:
        yield reader.line_num, row


def _jsonl_rows(text: str, path: Path):
    for line, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            yield line, _parse_json(raw, f"{path}:{line}")


def _json_rows(text: str, path: Path):
    data = _parse_json(text, str(path))
    if not isinstance(data, list):
        raise CadreError(f"{path}: expected a JSON list of objects")
    yield from ((i + 1, row) for i, row in enumerate(data))


def _parse_json(raw: str, where: str):
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CadreError(f"{where}: invalid JSON ({exc.msg})") from None


def _example(row, where: str) -> Example:
    if not isinstance(row, dict):
        raise CadreError(f"{where}: expected an object with text/label or question/answer")
    label = next((row[k] for k in LABEL_COLUMNS if row.get(k) is not None), None)
    if row.get("text") is not None and label is not None:
        text, label = str(row["text"]).strip(), str(label).strip()
        if not text or not label:
            raise CadreError(f"{where}: empty text or label")
        return Example(question=text, label=label, source=where)
    if row.get("question") is not None and row.get("answer") is not None:
        return Example(question=str(row["question"]).strip(), answer=str(row["answer"]).strip(), source=where)
    raise CadreError(f"{where}: needs columns text,label or question,answer (found {sorted(row)})")
