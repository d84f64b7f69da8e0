"""The code judge must not fill the host's memory (issue 23, item 3).

Every writable place in the sandbox is RAM (tmpfs or SysV IPC), and the host has no swap,
so each attack writes as much as it can in 16 MB files (RLIMIT_FSIZE stops one bigger
file) and reports how far it got. The judge must score the attack 0.0, stop it quickly,
and the host's shared memory (Shmem in /proc/meminfo, which every tmpfs page counts in)
must stay bounded while it runs, sampled from a thread here.
"""
from __future__ import annotations

import textwrap
import threading
import time

import pytest

from cadre.evaluation import judges, sandbox

pytestmark = pytest.mark.skipif(sandbox.detect().kind != "bwrap",
                                reason=f"no sandbox here: {sandbox.detect().detail}")

GB = 1 << 30
BOUND = 200 << 20  # the judge's whole writable space is ~90 MB; 200 MB leaves room for the host's noise


def shmem_bytes() -> int:
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("Shmem:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no Shmem line in /proc/meminfo")


def judged_with_peak(code: str, tests: str, timeout: float = 20.0) -> tuple[float, float, int]:
    """Run the attack through the code judge; (score, seconds, peak growth of host Shmem)."""
    base, peak, done = shmem_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], shmem_bytes() - base)
            time.sleep(0.02)
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.monotonic()
    try:
        score = judges.code(textwrap.dedent(code), tests, timeout=timeout)
    finally:
        seconds = time.monotonic() - start
        done.set()
        watcher.join()
    return score, seconds, peak[0]


FILL = """
import os
written = 0
chunk = b"x" * (1 << 20)
for i in range(64):          # 64 files of 16 MB: 1 GB
    try:
        with open(os.path.join({where!r}, f"fill-{{i}}"), "wb") as f:
            for _ in range(16):
                f.write(chunk); written += len(chunk)
    except OSError:
        break
"""


@pytest.mark.parametrize("where", ["/", "/dev/shm", "/tmp", "/dev", "/proc"])
def test_writing_a_gigabyte_fails(where):
    score, seconds, peak = judged_with_peak(FILL.format(where=where), f"assert written >= {GB}")
    assert score == 0.0
    assert seconds < 15
    assert peak < BOUND, f"host Shmem grew {peak >> 20} MB while the sandbox wrote to {where}"


def test_root_and_dev_are_read_only():
    """Not just bounded: nothing at all can be written outside /tmp and /dev/shm."""
    code = """
    import os
    ok = 0
    for p in ("/pwned", "/usr/pwned", "/dev/pwned", "/job/pwned"):
        try:
            open(p, "w").close(); ok += 1
        except OSError:
            pass
    """
    assert judges.code(textwrap.dedent(code), "assert ok > 0", timeout=10) == 0.0


def test_two_hundred_thousand_files_fail():
    code = """
    import os
    made = 0
    try:
        for i in range(200_000):
            os.close(os.open(f"/tmp/f{i}", os.O_CREAT | os.O_WRONLY)); made += 1
    except OSError:
        pass
    """
    score, seconds, _ = judged_with_peak(code, "assert made == 200_000")
    assert score == 0.0
    assert seconds < 10


def test_many_files_in_dev_shm_fail():
    code = """
    import os
    made = 0
    try:
        for i in range(20_000):
            os.close(os.open(f"/dev/shm/f{i}", os.O_CREAT | os.O_WRONLY)); made += 1
    except OSError:
        pass
    """
    assert judges.code(textwrap.dedent(code), "assert made == 20_000", timeout=10) == 0.0


def test_sysv_shared_memory_is_bounded():
    """shmget segments outlive shmdt, are tmpfs pages, and RLIMIT_AS does not see them."""
    code = """
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    IPC_PRIVATE, IPC_CREAT = 0, 0o1000
    held = 0
    for _ in range(64):                     # 64 segments of 16 MB: 1 GB
        sid = libc.shmget(IPC_PRIVATE, 16 << 20, IPC_CREAT | 0o600)
        if sid < 0:
            break
        addr = libc.shmat(sid, None, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            break
        ctypes.memset(addr, 1, 16 << 20)
        libc.shmdt(ctypes.c_void_p(addr))
        held += 16 << 20
    """
    score, _, peak = judged_with_peak(code, f"assert held >= {GB}")
    assert score == 0.0
    assert peak < BOUND, f"host Shmem grew {peak >> 20} MB through SysV shared memory"


def test_no_nested_namespace_gives_an_unbounded_tmpfs():
    """A user namespace inside the sandbox could mount a fresh tmpfs with no size limit."""
    code = """
    import subprocess
    fill = "for i in 1 2 3 4 5 6 7 8; do head -c 15000000 /dev/zero > /tmp/x$i || exit 1; done"
    done = subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs none /tmp && " + fill])
    ok = done.returncode == 0              # 120 MB: more than the sandbox's own /tmp holds
    """
    assert judges.code(textwrap.dedent(code), "assert ok", timeout=10) == 0.0


def test_ipc_limits_cannot_be_raised_from_inside():
    code = """
    try:
        open("/proc/sys/kernel/shmmax", "w").write("9999999999"); ok = True
    except OSError:
        ok = False
    """
    assert judges.code(textwrap.dedent(code), "assert ok", timeout=10) == 0.0


def test_ordinary_scratch_work_still_passes():
    """The bounds leave room for what tested code does: temp files and a shared-memory lock."""
    code = """
    import os, tempfile, multiprocessing
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write("x" * (1 << 20))
    for i in range(500):
        open(f"/tmp/small-{i}", "w").write("y")
    lock = multiprocessing.Lock()       # a POSIX semaphore in /dev/shm
    with lock:
        pass
    ok = os.path.getsize(f.name) == 1 << 20 and len(os.listdir("/tmp")) == 501
    """
    assert judges.code(textwrap.dedent(code), "assert ok", timeout=10) == 1.0


def test_the_fallback_without_a_bounded_space_keeps_root_read_only_and_sizes():
    """Where this process may not mount in a user namespace, bwrap's own tmpfs are used:
    no file cap, but the root stays read-only and /dev/shm and /tmp keep their sizes."""
    code = textwrap.dedent(FILL.format(where="/dev/shm")) + textwrap.dedent("""
    import os
    try:
        open("/pwned", "w").close(); root_writable = True
    except OSError:
        root_writable = False
    print("written", written, "root", root_writable)
    """)
    result = sandbox._run_isolated(code, 10, 1024, bounded=False)
    assert result.completed, result.output
    assert "root False" in result.output and "written 8388608 " in result.output
