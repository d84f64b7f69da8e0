"""Atomic writes: write to a temporary sibling, then rename, so a crash loses nothing."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        share_with_umask(fd)  # mkstemp's 0600 would hide it from other users
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj) -> None:
    """Write `obj` as indented JSON atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def current_umask() -> int:
    """The process's umask, read without changing it (os.umask sets it, which would race
    with other threads creating files); 0o022 when /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def share_with_umask(fd: int) -> None:
    """Give a file made by mkstemp (0600) the mode a plain open() would: 0666 less the umask."""
    os.fchmod(fd, 0o666 & ~current_umask())


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
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp's 0700 would hide it from other users
        yield tmp
        _share_tree(tmp)
        old = path.with_name(f".{path.name}.old")
        if path.exists() or path.is_symlink():
            _remove(old)
            os.replace(path, old)
        os.replace(tmp, path)
        _remove(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _share_tree(root: Path) -> None:
    """Files and folders under `root` get the modes a plain open()/mkdir() would give them
    (0666/0777 less the umask; executable bits kept): safetensors and mkstemp write 0600."""
    mask = current_umask()
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o777 & ~mask)
        for name in files:
            file = os.path.join(folder, name)
            if not os.path.islink(file):
                os.chmod(file, (0o666 | (os.stat(file).st_mode & 0o111)) & ~mask)


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
        if not (resume or path.exists() or path.is_symlink()):
            _reserve(path, flag)
        _CLAIMED.add(_key(path))
        return path
    from cadre.errors import CadreError

    if not path.is_dir():
        raise CadreError(f"{flag} {path} is an existing file; pass --overwrite to replace it")
    if all(entry.name == RESERVED for entry in path.iterdir()):  # empty, or reserved
        if not resume:  # a resumable run's folder is its own to mark (it writes into it)
            _reserve(path, flag)
        _CLAIMED.add(_key(path))
        return path
    kind = cadre_kind(path)
    if resume and kind and any(kind == k or kind.startswith(k + ":") for k in kinds):
        _CLAIMED.add(_key(path))
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
    from cadre.errors import CadreError

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
