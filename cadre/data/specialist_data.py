"""Data for LoRA specialists: load, clean, format as instructions, split, save.

Sources: local CSV/TSV/JSONL/JSON files (optionally .gz), a folder of split files, or
`hf:NAME[:CONFIG]` through the `datasets` library (imported lazily; only where a
network or a local HF cache exists). Each example becomes the instruction format
`{"prompt", "response", "metadata"}`; splits are saved as JSONL beside a manifest of
sha256 hashes, written atomically.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
import re
import string
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from cadre.errors import CadreError
from cadre.fsutil import atomic_dir

SPLITS = ("train", "validation", "test")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")


# ----------------------------------------------------------------------------- loading
def _open_text(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # legacy files: never fail on bytes


def read_table(path: str | Path, fmt: str = "auto") -> list[dict]:
    """Rows of a CSV, TSV, JSONL or JSON file (optionally gzipped), as dicts; `fmt` (or
    the extension .conll / .label) selects a CoNLL NER or TREC reader (data/formats.py)."""
    from cadre.data import formats

    path = Path(path)
    if not path.is_file():
        raise CadreError(f"{path}: data file not found")
    kind = path.name.removesuffix(".gz").rsplit(".", 1)[-1].lower()
    kind = {"label": "trec"}.get(kind, kind) if fmt == "auto" else fmt
    text = _open_text(path)
    if kind in ("conll", "trec"):
        return formats.read_conll(text) if kind == "conll" else formats.read_trec(text)
    if kind in ("csv", "tsv"):
        # TSV files such as GLUE's are unquoted: a stray quote is text, not a delimiter
        quoting = csv.QUOTE_NONE if kind == "tsv" else csv.QUOTE_MINIMAL
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if kind == "tsv" else ",", quoting=quoting)
        return [dict(r) for r in reader]
    if kind == "jsonl":
        return [_json_line(path, i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    if kind == "json":
        data = json.loads(text)
        rows = data.get("data", data.get("rows")) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise CadreError(f"{path}: expected a JSON list of rows (or {{'data': [...]}})")
        return rows
    raise CadreError(f"{path}: unsupported data format .{kind}; use csv, tsv, jsonl or json (optionally .gz)")


def _json_line(path: Path, lineno: int, line: str) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CadreError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise CadreError(f"{path}:{lineno}: expected a JSON object per line")
    return row


def load_hf(spec: str) -> dict[str, list[dict]]:
    """`hf:NAME[:CONFIG]` → {split: rows} through `datasets` (needs a network or HF cache)."""
    try:
        import datasets
    except ImportError:
        raise CadreError(f"{spec}: loading from the Hugging Face hub needs the `datasets` "
                         "package (pip install datasets), or download the files and pass a path") from None
    name, _, config = spec[3:].partition(":")
    try:
        ds = datasets.load_dataset(name, config or None)
    except Exception as exc:  # network errors, unknown names: one line for the user
        raise CadreError(f"{spec}: cannot load ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    alias = {"dev": "validation", "valid": "validation"}
    return {alias.get(k, k): [dict(r) for r in v] for k, v in ds.items()}


def load_source(path: str, files: dict[str, str] | None = None,
                fmt: str = "auto") -> dict[str, tuple[str, list[dict]]]:
    """{split: (where, rows)}: a folder with `files`, one file (split 'all'), or hf:NAME."""
    if path.startswith("hf:"):
        return {k: (f"{path}[{k}]", v) for k, v in load_hf(path).items()}
    p = Path(path)
    if p.is_dir():
        if not files:
            raise CadreError(f"{p}: a data folder needs `files` naming the split files")
        return {split: (str(p / name), read_table(p / name, fmt)) for split, name in files.items()}
    if not p.exists():
        raise CadreError(f"{p}: data path not found (pass --data PATH to point at a copy)")
    return {"all": (str(p), read_table(p, fmt))}


# ----------------------------------------------------------------------------- cleaning
def fix_text(text: str) -> str:
    """Repair common mojibake (UTF-8 read as cp1252), normalise to NFC, drop control
    characters, unify newlines and strip trailing spaces; one-line text has its runs of
    spaces collapsed, multi-line text (code, worked answers) keeps its indentation."""
    text = _CONTROL.sub("", text)
    if re.search("[ÃÂâ][\u0080-\u00bf\u2018-\u201e\u20ac]", text):
        try:
            text = text.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass  # not mojibake after all (or mixed with text cp1252 cannot hold)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text.strip():
        return " ".join(text.split())
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip()


def _clean_value(value):
    if isinstance(value, str):
        return fix_text(value)
    if isinstance(value, list):
        return [_clean_value(v) for v in value]
    return value


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def map_columns(rows: list[dict], columns: dict[str, str], where: str) -> list[dict]:
    """Rename dataset columns to the template's field names; a missing column is an error
    naming the file and the columns that are there."""
    found = list(rows[0].keys()) if rows else []
    missing = [src for src in columns.values() if rows and src not in rows[0]]
    if missing:
        raise CadreError(f"{where}: missing column(s) {', '.join(missing)}; found: {', '.join(map(str, found))}")
    return [{field: row.get(src) for field, src in columns.items()} for row in rows]


def clean_rows(rows: list[dict], key_fields: list[str], stats: dict, required: list[str] | None = None,
               strip: dict[str, str] | None = None) -> list[dict]:
    """Fix text, remove `strip` patterns (field → regex), drop rows where a `required` field
    (default: every field) is empty, and drop repeated inputs (the first is kept).

    `key_fields` are the input fields that define a duplicate; counts go into `stats`.
    """
    out, seen = [], set()
    patterns = {k: re.compile(v) for k, v in (strip or {}).items()}
    for row in rows:
        row = {k: _clean_value(patterns[k].sub("", v) if k in patterns and isinstance(v, str) else v)
               for k, v in row.items()}
        if any(_is_empty(row.get(k)) for k in (required or row)):
            stats["empty"] = stats.get("empty", 0) + 1
            continue
        key = input_key(row, key_fields)
        if key in seen:
            stats["duplicate"] = stats.get("duplicate", 0) + 1
            continue
        seen.add(key)
        out.append(row)
    return out


def input_key(row: dict, key_fields: list[str]) -> str:
    """A case- and space-insensitive key of an example's input, for dedupe and leak checks."""
    return "\x1f".join(" ".join(str(row.get(f, "")).lower().split()) for f in key_fields)


# ----------------------------------------------------------------------------- formatting
def template_fields(template: str) -> list[str]:
    """The `{field}` names a template uses."""
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def fill(template: str, row: dict, where: str = "template") -> str:
    """Fill a template from a row; list values are joined one per line."""
    values = {k: "\n".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in row.items()}
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise CadreError(f"{where}: placeholder {{{exc.args[0]}}} is not a column; "
                         f"columns: {', '.join(values)}") from None
    except (ValueError, IndexError) as exc:
        raise CadreError(f"{where}: bad template ({exc}); write literal braces as {{{{ }}}}") from None


def format_example(row: dict, prompt, reference: str, source: str) -> dict:
    """One row → the instruction format {prompt, response, metadata}."""
    meta = {"source": source, "reference": row.get(reference)}
    if "label" in row:
        meta["label"] = row["label"]
    return {"prompt": fill(prompt.template, row, "prompt.template"),
            "response": fill(prompt.response, row, "prompt.response"), "metadata": meta}


def apply_label_names(rows: list[dict], names: dict[str, str], where: str) -> None:
    """Replace raw label values (e.g. 0/1) by their names, in place; unknown ones are errors."""
    if not names:
        for row in rows:
            row["label"] = str(row["label"])
        return
    for row in rows:
        key = str(row["label"]).strip()
        if key not in names:
            raise CadreError(f"{where}: label {key!r} is not in label_names ({', '.join(names)})")
        row["label"] = names[key]


# ----------------------------------------------------------------------------- splitting
def _shuffled(rows: list, seed: int) -> list:
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows


def random_split(rows: list, fractions=(0.8, 0.1, 0.1), seed: int = 42) -> dict[str, list]:
    """Shuffle with `seed`, then cut train/validation/test by `fractions`."""
    rows = _shuffled(rows, seed)
    n_train = round(fractions[0] * len(rows))
    n_val = round(fractions[1] * len(rows))
    return {"train": rows[:n_train], "validation": rows[n_train:n_train + n_val],
            "test": rows[n_train + n_val:]}


def range_split(rows: list[dict], column: str, ranges: dict, where: str) -> dict[str, list]:
    """Rows whose integer `column` lies in each split's inclusive [lo, hi] range."""
    if rows and column not in rows[0]:
        raise CadreError(f"{where}: missing column(s) {column}; found: {', '.join(rows[0])}")
    return {split: [r for r in rows if lo <= int(r[column]) <= hi] for split, (lo, hi) in ranges.items()}


def split_source(source: dict, dataset) -> dict[str, tuple[str, list[dict]]]:
    """Apply the dataset's split rule to {name: (where, rows)} → {split: (where, rows)}."""
    where = ", ".join(w for w, _ in source.values())
    if dataset.split == "files":
        got = {k: v for k, v in source.items() if k in SPLITS}
        if "train" not in got:
            raise CadreError(f"{where}: no train split (found: {', '.join(source)})")
        return got
    rows = [r for _, rs in source.values() for r in rs]
    if dataset.split == "ranges":
        parts = range_split(rows, dataset.range_column, dataset.ranges, where)
    else:
        parts = random_split(rows, dataset.fractions, dataset.seed)
    return {k: (where, v) for k, v in parts.items()}


def carve(splits: dict[str, list], seed: int, fraction: float = 0.1) -> dict[str, list]:
    """Carve the validation/test splits that the source lacks out of train (seeded).

    A split that the source has but that is empty stays empty (and is reported)."""
    for name in ("validation", "test"):
        if name not in splits:
            train = _shuffled(splits["train"], seed)
            n = max(1, round(fraction * len(train)))
            splits[name], splits["train"] = train[:n], train[n:]
    return splits


# ----------------------------------------------------------------------------- pipeline
def prepare(dataset, prompt, *, classification: bool, reference: str, path: str | None = None,
            sizes: dict[str, int | None] | None = None) -> dict:
    """Load, clean, split and format a specialist's data.

    `dataset` and `prompt` are the specialist's DatasetSpec / PromptSpec. `path` overrides
    dataset.path (the `--data` option); `sizes` caps each split (the local-test recipe).
    Returns {"splits": {split: [examples]}, "labels": [...] | None, "manifest": {...}}.
    """
    path = path or dataset.path
    source = load_source(path, dataset.files, getattr(dataset, "format", "auto"))
    if dataset.split == "files" and "all" in source:  # --data gave one file: split it
        dataset = dataset.model_copy(update={"split": "random"})
    parts, stats = split_source(source, dataset), {}
    keys = [f for f in template_fields(prompt.template) if f in dataset.columns] or list(dataset.columns)
    required = sorted(set(template_fields(prompt.template) + template_fields(prompt.response)
                          + [reference] + (["label"] if classification else [])) & set(dataset.columns))
    splits, wheres = {}, {}
    for name, (where, rows) in parts.items():
        mapped = map_columns(rows, dataset.columns, where)
        if classification:
            apply_label_names([r for r in mapped if not _is_empty(r.get("label"))], dataset.label_names, where)
        splits[name], wheres[name] = clean_rows(mapped, keys, stats, required, dataset.strip), where
    splits = _remove_leaks(splits, keys, stats)
    splits = _min_words(splits, getattr(dataset, "train_min_words", {}), stats)
    if dataset.split == "files":
        splits = carve(splits, dataset.seed)
    for name in SPLITS:
        if not splits.get(name):
            dropped = ", ".join(f"{v} {k}" for k, v in stats.items()) or "none"
            raise CadreError(f"{wheres.get(name, path)}: split {name!r} is empty after cleaning "
                             f"(rows dropped: {dropped})")
    # the label set comes from the whole train split: a capped sample may miss a rare label
    labels = _labels(splits, dataset.label_names, wheres) if classification else None
    balance = classification and getattr(dataset, "balance_train", False)
    splits = {k: (_balanced_cap if balance and k == "train" else _cap)(splits[k], (sizes or {}).get(k), dataset.seed)
              for k in SPLITS}
    formatted = {k: [format_example(r, prompt, reference, path) for r in v] for k, v in splits.items()}
    manifest = {"source": path, "source_files": _file_hashes(source), "labels": labels,
                "seed": dataset.seed, "split_rule": dataset.split, "dropped": stats,
                "rows": {k: len(v) for k, v in formatted.items()}}
    return {"splits": formatted, "labels": labels, "manifest": manifest}


def _remove_leaks(splits: dict[str, list], keys: list[str], stats: dict) -> dict[str, list]:
    """Drop train/validation rows whose input also appears in a later split (test first)."""
    for held, others in (("test", ("train", "validation")), ("validation", ("train",))):
        seen = {input_key(r, keys) for r in splits.get(held, [])}
        for name in others:
            if name in splits:
                before = len(splits[name])
                splits[name] = [r for r in splits[name] if input_key(r, keys) not in seen]
                stats["leaked"] = stats.get("leaked", 0) + before - len(splits[name])
    return splits


def _min_words(splits: dict[str, list], minimum: dict[str, int], stats: dict) -> dict[str, list]:
    """Drop train/validation rows with fewer than `minimum[field]` words in a field."""
    if not minimum:
        return splits
    for name in ("train", "validation"):
        if name in splits:
            before = len(splits[name])
            splits[name] = [r for r in splits[name]
                            if all(len(str(r.get(f, "")).split()) >= n for f, n in minimum.items())]
            stats["short"] = stats.get("short", 0) + before - len(splits[name])
    return splits


def _cap(rows: list, size: int | None, seed: int) -> list:
    return rows if size is None or size >= len(rows) else _shuffled(rows, seed)[:size]


def _balanced_cap(rows: list, size: int | None, seed: int) -> list:
    """A capped sample taking each label in turn (a rare label gives all it has), shuffled."""
    if size is None or size >= len(rows):
        return rows
    by_label: dict = {}
    for row in _shuffled(rows, seed):
        by_label.setdefault(row["label"], []).append(row)
    queues, picked = [by_label[k] for k in sorted(by_label)], []
    while len(picked) < size:
        for queue in queues:
            if queue and len(picked) < size:
                picked.append(queue.pop())
    return _shuffled(picked, seed)


def _labels(splits: dict, names: dict[str, str], wheres: dict) -> list[str]:
    """The label set: label_names' order when given, else sorted train labels."""
    labels = list(dict.fromkeys(names.values())) if names else sorted({r["label"] for r in splits["train"]})
    unseen = sorted({r["label"] for r in splits["test"]} - set(labels))
    if unseen:
        raise CadreError(f"{wheres.get('test')}: test labels {unseen[:5]} never appear in train")
    return labels


def _file_hashes(source: dict) -> dict[str, str]:
    return {where: sha256_file(where) for where, _ in source.values() if Path(where).is_file()}


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_prepared(prepared: dict, folder: str | Path) -> Path:
    """Write {train,validation,test}.jsonl and manifest.json (with their sha256) atomically."""
    folder = Path(folder)
    manifest = dict(prepared["manifest"], files={})
    with atomic_dir(folder) as tmp:
        for name, rows in prepared["splits"].items():
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            (tmp / f"{name}.jsonl").write_text(text, encoding="utf-8")
            manifest["files"][f"{name}.jsonl"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return folder


def read_jsonl(path: str | Path) -> Iterable[dict]:
    """Rows of a JSONL file (as saved by save_prepared)."""
    return read_table(path)
