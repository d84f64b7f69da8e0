"""The output guard: a command's --output is checked before it writes (claim_output), a
resumable run marks its folder first (mark_output), and a new output is reserved by the
process writing it, so two runs never replace each other's result."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from cadre.checkpoint import find_metadata
from cadre.errors import CadreError
from cadre.fsutil import allow_replacing, atomic_write_json

MARKER = ".cadre-output.json"  # {"type": KIND}: written before anything else in a resumable output


def cadre_kind(path: str | Path) -> str | None:
    """The kind of cadre folder at `path` (cadre.json's type, with router_kind; else the
    output marker's type), else None."""
    try:
        data = find_metadata(path)
    except CadreError:  # a corrupt cadre.json: the marker may still say whose folder it is
        data = None
    if data is None:
        data = _read_marker(Path(path))
        if data is None:
            markers = ("report.json", "baseline.json", "adapter/cadre.json")  # a `cadre specialist run` folder
            return "specialist-run" if any((Path(path) / m).is_file() for m in markers) else None
    if not isinstance(data.get("type"), str):
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
        if not (resume or path.exists() or path.is_symlink()):
            _reserve(path, flag)
        allow_replacing(path)
        return path
    if not path.is_dir():
        raise CadreError(f"{flag} {path} is an existing file; pass --overwrite to replace it")
    if all(entry.name == RESERVED for entry in path.iterdir()):  # empty, or reserved
        if not resume:  # a resumable run's folder is its own to mark (it writes into it)
            _reserve(path, flag)
        allow_replacing(path)
        return path
    kind = cadre_kind(path)
    if resume and kind and any(kind == k or kind.startswith(k + ":") for k in kinds):
        allow_replacing(path)
        return path
    what = f"a cadre {kind} folder" if kind else "a folder that is not cadre's"
    raise CadreError(f"{flag} {path} already exists ({what}); pass --overwrite to replace it")


# ----------------------------------------------------------------------------- reservations
RESERVED = ".cadre-reserved"  # in a new output folder: the pid of the cadre process writing it
_RESERVED: list[tuple[Path, bool]] = []  # (folder, made here), released at exit


def _reserve(path: Path, flag: str) -> None:
    """Make a new output this process's as it is checked: a folder holding RESERVED,
    created exclusively, so a second run into the same new output fails at once instead
    of silently replacing the first one's result. A marker whose process is gone is
    taken over. The folder is replaced by the output when it is written, and removed at
    exit when nothing was."""
    made = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    marker = path / RESERVED
    for _ in range(3):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            owner = _owner(marker)
            if owner is None:  # just made, its pid not yet written
                time.sleep(0.2)
                owner = _owner(marker)
            if owner == os.getpid():
                return
            if owner is not None and _alive(owner):
                raise CadreError(f"{flag} {path} is being written by another cadre run (pid {owner}); "
                                 f"wait for it to finish, or choose another {flag}") from None
            marker.unlink(missing_ok=True)  # left by a run that is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        if not _RESERVED:
            import atexit

            atexit.register(release_reservations)
        _RESERVED.append((path, made))
        return
    raise CadreError(f"{flag} {path}: cannot reserve it (another run keeps taking it)")


def _owner(marker: Path) -> int | None:
    try:
        return int(marker.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_reservations() -> None:
    """Drop this process's markers; a reserved folder that got no output is removed
    (when this process made it)."""
    while _RESERVED:
        path, made = _RESERVED.pop()
        marker = path / RESERVED
        if _owner(marker) != os.getpid():
            continue  # the output replaced the reserved folder
        marker.unlink(missing_ok=True)
        if made:
            try:
                path.rmdir()  # only if still empty
            except OSError:
                pass
