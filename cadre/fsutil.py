"""Atomic writes: write to a temporary sibling, then rename, so a crash loses nothing."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj) -> None:
    """Write `obj` as indented JSON atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces `path` only if the block succeeds.

    The previous folder stays intact until the new one is complete, so an interrupt
    during a checkpoint write leaves the last good checkpoint in place.
    An existing file (not a folder) at `path` is replaced only when claim_output() allowed
    it (--overwrite); it is never renamed aside silently.
    """
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not path.is_dir() and _key(path) not in _CLAIMED:
        from cadre.errors import CadreError

        raise CadreError(f"{path} is an existing file, not a folder; pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        old = path.with_name(f".{path.name}.old")
        if path.exists() or path.is_symlink():
            _remove(old)
            os.replace(path, old)
        os.replace(tmp, path)
        _remove(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove(path: Path) -> None:
    """Delete a file, link or folder tree, if there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- output guard
_CLAIMED: set[str] = set()  # outputs this process may replace (checked, or --overwrite)


def _key(path: Path) -> str:
    return os.path.abspath(path)


MARKER = ".cadre-output.json"  # {"type": KIND}: written before anything else in a resumable output


def cadre_kind(path: str | Path) -> str | None:
    """The kind of cadre folder at `path` (cadre.json's type, with router_kind; else the
    output marker's type), else None."""
    meta = Path(path) / "cadre.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = _read_marker(Path(path))
        if data is None:
            markers = ("report.json", "baseline.json", "adapter/cadre.json")  # a `cadre specialist run` folder
            return "specialist-run" if any((Path(path) / m).is_file() for m in markers) else None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return None
    return f"{data['type']}:{data['router_kind']}" if data.get("router_kind") else data["type"]


def _read_marker(path: Path) -> dict | None:
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def mark_output(path: str | Path, kind: str) -> Path:
    """Mark `path` as a cadre output of `kind` before the run writes anything else in it.

    A run stopped at any point (SIGTERM, SIGKILL, power loss) then leaves a folder that
    claim_output() recognises, so rerunning the same command resumes in it instead of
    refusing "a folder that is not cadre's". The marker is written atomically and kept
    when it is already there.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if _read_marker(path) is None:
        atomic_write_json(path / MARKER, {"type": kind})
    return path


def claim_output(path: str | Path, kinds: tuple[str, ...] = (), *, overwrite: bool = False,
                 resume: bool = False, flag: str = "--output") -> Path:
    """Check that writing `path` loses nothing, then let this process replace it.

    A missing path or an empty folder is fine. Anything else is refused with a one-line
    CadreError unless `overwrite`; with `resume`, a cadre folder whose kind starts with one
    of `kinds` is fine too (the run continues in it).
    """
    path = Path(path)
    if overwrite or not (path.exists() or path.is_symlink()):
        _CLAIMED.add(_key(path))
        return path
    from cadre.errors import CadreError

    if not path.is_dir():
        raise CadreError(f"{flag} {path} is an existing file; pass --overwrite to replace it")
    if not any(path.iterdir()):
        _CLAIMED.add(_key(path))
        return path
    kind = cadre_kind(path)
    if resume and kind and any(kind == k or kind.startswith(k + ":") for k in kinds):
        _CLAIMED.add(_key(path))
        return path
    what = f"a cadre {kind} folder" if kind else "a folder that is not cadre's"
    raise CadreError(f"{flag} {path} already exists ({what}); pass --overwrite to replace it")
