"""The code judge's writable space, bounded in bytes and in files (issue 23, item 3).

Everything the sandbox can write is host RAM: tmpfs pages, tmpfs inodes, SysV IPC. The
host has no swap, and parallel judges multiply each one. bubblewrap's `--tmpfs` takes a
size but no inode count, and a user namespace inside the sandbox could mount a fresh,
unlimited tmpfs. So, in the child process, just before it execs bwrap:

  - it enters a user, mount and IPC namespace of its own (uid 0 there is the caller's
    uid, or `nobody` when the caller is root);
  - it mounts two tmpfs in that mount namespace, with `size` and `nr_inodes`, on empty
    folders of the job; bwrap binds them at /tmp and /dev/shm;
  - it lowers that IPC namespace's SysV limits (shared memory, message queues,
    semaphores), which bwrap keeps (it is not asked for a new IPC namespace); Linux
    5.19 or later lets a user namespace do that, older kernels keep their defaults.

bwrap then makes `/`, `/dev` and `/proc` read-only (so the limits cannot be raised from
inside) and `--disable-userns` (so no nested namespace can mount another tmpfs). The
namespaces, and the memory in them, go away when the program's last process exits.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the child only calls into it
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
PR_SET_DUMPABLE = 4


@dataclass(frozen=True)
class Space:
    """One writable tmpfs: the job's folder `name` mounted at `target` with these limits."""
    name: str
    target: str
    size_bytes: int
    files: int


SPACES = (Space("tmp", "/tmp", 64 << 20, 4096), Space("shm", "/dev/shm", 8 << 20, 256))
# SysV IPC of the sandbox's namespace: 8 MB of shared memory in 16 segments, 16 message
# queues of 16 KB, 32 semaphore sets of 32 (defaults allow terabytes of each).
IPC_LIMITS = {"shmmax": str(8 << 20), "shmall": str((8 << 20) // os.sysconf("SC_PAGE_SIZE")),
              "shmmni": "16", "msgmni": "16", "msgmnb": "16384", "sem": "32 1024 32 32"}


def prepare(root: Path) -> None:
    """Make the empty mount points in the job folder (on the host's disk; never written)."""
    for space in SPACES:
        (root / space.name).mkdir(mode=0o755)


def bwrap_binds(root: str) -> list[str]:
    """bwrap arguments that put the bounded spaces where the program expects them."""
    args: list[str] = []
    for space in SPACES:
        args += ["--bind", f"{root}/{space.name}", space.target]
    return args


def bwrap_tmpfs() -> list[str]:
    """The fallback where enter() cannot mount: bwrap's own tmpfs, capped in bytes only."""
    args: list[str] = []
    for space in SPACES:
        args += ["--size", str(space.size_bytes), "--tmpfs", space.target]
    return args


def enter(root: str) -> None:
    """In the child, before exec: own namespaces, the bounded tmpfs mounts, lower IPC limits.

    Raises OSError naming the step that failed (no user namespaces, no tmpfs, ...).
    """
    uid, gid = os.getuid(), os.getgid()
    _LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # after a uid drop /proc/self/*_map is root's otherwise
    _check(_LIBC.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC), "unshare a user namespace")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")
    _check(_LIBC.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make the mounts private")
    for space in SPACES:
        options = f"size={space.size_bytes},nr_inodes={space.files},mode=1777"
        _check(_LIBC.mount(b"cadre-judge", f"{root}/{space.name}".encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                           options.encode()), f"mount a tmpfs for {space.target}")
    for name, value in IPC_LIMITS.items():
        try:
            _write(f"/proc/sys/kernel/{name}", value)
        except OSError:
            pass  # before Linux 5.19 a user namespace cannot set them: the kernel's defaults stay


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"cannot {what}: {os.strerror(err)}")


def _write(path: str, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror}") from None
