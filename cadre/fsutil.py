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


# ----------------------------------------------------------------------------- claimed outputs
_CLAIMED: set[str] = set()  # outputs this process may replace (checked by cadre.outputs, or --overwrite)


def _key(path: Path) -> str:
    return os.path.abspath(path)


def allow_replacing(path: str | Path) -> None:
    """Let atomic_dir replace `path` even when it is a file (cadre.outputs.claim_output checked it)."""
    _CLAIMED.add(_key(Path(path)))
