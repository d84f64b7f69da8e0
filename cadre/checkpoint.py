"""The checkpoint folder contract: config.json, model.safetensors, tokenizer.json and
cadre.json (type, preset, labels, data hash, metrics, versions). No pickles anywhere.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

from cadre.errors import CadreError
from cadre.fsutil import atomic_write_json

METADATA_FILE = "cadre.json"
FORMAT_VERSION = 1
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", METADATA_FILE)


def versions() -> dict[str, str]:
    """Library versions recorded in every artifact."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in ("cadre", "torch", "transformers", "tokenizers"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return out


def write_metadata(folder: str | Path, meta: dict) -> None:
    """Write cadre.json with the format version and library versions added."""
    full = {"format_version": FORMAT_VERSION, "versions": versions(), **meta}
    atomic_write_json(Path(folder) / METADATA_FILE, full)


def read_metadata(folder: str | Path) -> dict:
    """Read cadre.json, with a clear error for a missing, corrupt or foreign folder, or one
    written by another format version."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CadreError(f"{folder}: model folder not found")
    meta = parse_metadata(folder)
    path = folder / METADATA_FILE
    if meta.get("format_version") != FORMAT_VERSION:
        raise CadreError(f"{path}: format version {meta.get('format_version')!r} is not "
                         f"{FORMAT_VERSION}; retrain or convert it with this version of cadre")
    _check_labels(path, meta)
    return meta


def parse_metadata(folder: str | Path) -> dict:
    """cadre.json as written, any format version: the one place that parses it. A missing
    file, bad JSON or a non-object is a one-line CadreError naming the file."""
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        raise CadreError(f"{folder}: not a cadre model folder (no {METADATA_FILE})")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CadreError(f"{path}: corrupt metadata ({exc})") from None
    except OSError as exc:
        raise CadreError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(meta, dict):
        raise CadreError(f"{path}: corrupt metadata (not a JSON object)")
    return meta


def find_metadata(folder: str | Path | None) -> dict | None:
    """cadre.json of `folder`, or None when there is no such folder or file (nothing
    written there yet); a corrupt one is still a CadreError."""
    if not folder or not (Path(folder) / METADATA_FILE).is_file():
        return None
    return parse_metadata(folder)


def update_metadata(folder: str | Path, **fields) -> dict:
    """Merge fields into cadre.json (atomically), keeping the rest as written; returns it."""
    meta = {**parse_metadata(folder), **fields}
    atomic_write_json(Path(folder) / METADATA_FILE, meta)
    return meta


def _check_labels(path: Path, meta: dict) -> None:
    """A classifier needs its class names: a non-empty list of distinct strings."""
    if meta.get("task_kind") != "classifier":
        return
    labels = meta.get("labels")
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)
            and len(set(labels)) == len(labels)):
        raise CadreError(f"{path}: a classifier needs \"labels\", a non-empty list of distinct names "
                         f"(got {json.dumps(labels)[:80]})")


def check_complete(folder: str | Path, required=REQUIRED_FILES) -> None:
    """Raise a clear error when any contract file is missing or empty."""
    folder = Path(folder)
    for name in required:
        f = folder / name
        if not f.is_file() or f.stat().st_size == 0:
            raise CadreError(f"{folder}: incomplete checkpoint, {name} is missing or empty")


def load_safetensors(path: str | Path) -> dict:
    """Load a safetensors file, turning truncation or corruption into a CadreError."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises several types for corrupt files
        raise CadreError(f"{path}: corrupt or truncated safetensors ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
