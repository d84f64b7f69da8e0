"""The code judge's memory bounds (issue 23, item 3): each attack below runs through the
real judge under bubblewrap, on the tree given by PYTHONPATH, and the host's Shmem
(/proc/meminfo, every tmpfs and SysV page) is sampled every 20 ms while it runs.

    PYTHONPATH=. python benchmarks/judge_memory.py                # this tree
    git archive REV | tar -x -C /tmp/old && PYTHONPATH=/tmp/old python benchmarks/judge_memory.py

Prints one Markdown row per attack: the judge's score (1.0 = the attack did all it tried),
wall seconds, and the peak growth of host Shmem and Slab in MB (other jobs on the machine
move Slab by a few MB).
"""
from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

GB = 1 << 30
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
FILES = """
import os
made = 0
try:
    for i in range(200_000):
        os.close(os.open(f"/tmp/f{i}", os.O_CREAT | os.O_WRONLY)); made += 1
except OSError:
    pass
"""

ATTACKS = {f"1 GB in 16 MB files to {where}": (FILL.format(where=where), f"assert written >= {GB}")
           for where in ("/", "/dev/shm", "/tmp")}
ATTACKS["200,000 empty files in /tmp"] = (FILES, "assert made == 200_000")


def meminfo() -> tuple[int, int]:
    """Host Shmem (tmpfs and SysV pages) and Slab (inodes, dentries), bytes."""
    with open("/proc/meminfo", encoding="ascii") as f:
        fields = dict(line.split(":", 1) for line in f)
    return tuple(int(fields[k].split()[0]) * 1024 for k in ("Shmem", "Slab"))


def judged_with_peak(code: str, tests: str, timeout: float) -> tuple[float, float, list[int]]:
    """(score, seconds, peak growth of host [Shmem, Slab]) of one attack through the code judge."""
    from cadre.evaluation import judges

    base, peak, done = meminfo(), [0, 0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            now = meminfo()
            peak[:] = [max(p, n - b) for p, n, b in zip(peak, now, base)]
            time.sleep(0.01)
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.monotonic()
    try:
        score = judges.code(code, tests, timeout=timeout)
    finally:
        seconds = time.monotonic() - start
        done.set()
        watcher.join()
    return score, seconds, peak


def main() -> None:
    import cadre
    from cadre.evaluation import sandbox

    print(f"tree: {Path(cadre.__file__).parent.parent}; isolation: {sandbox.detect().detail}")
    print("| attack | score | seconds | host Shmem peak growth (MB) | host Slab peak growth (MB) |\n"
          "|---|---|---|---|---|")
    for name, (code, tests) in ATTACKS.items():
        score, seconds, peak = judged_with_peak(textwrap.dedent(code), tests, timeout=20.0)
        print(f"| {name} | {score} | {seconds:.1f} | {peak[0] / 2**20:.0f} | {peak[1] / 2**20:.0f} |", flush=True)


if __name__ == "__main__":
    main()
