"""`solve_math` out of process: sympy runs in warm worker processes with a time and a
memory limit, so "9**9**9" or "factorial(factorial(20))" cannot freeze the server.

sympy computes big powers while holding the GIL, and nothing interrupts it from inside
the process; a separate process can be killed. Each worker is a plain
`python -m cadre.runtime.math_worker` (no fork of a threaded server), reads one JSON
problem per line and writes one JSON answer per line. A worker that runs past the time
limit is killed (SIGKILL) and replaced; a worker that dies (memory limit) is replaced too.
"""
from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
import sys
import threading
import time

from cadre.runtime.errors import ToolError

log = logging.getLogger("cadre.runtime")
TIME_LIMIT_S = 3.0          # a real problem takes milliseconds; 3 s covers a loaded machine
MEMORY_LIMIT_BYTES = 1 << 30
START_TIMEOUT_S = 60.0      # importing sympy in a fresh worker on a loaded machine
BUSY_MESSAGE = "the math tool is busy; try again"


class MathTooCostly(ToolError):
    """A problem that sympy could not finish within the time or memory limit."""


class MathWorker:
    """One worker process; not thread-safe (the pool hands it to one caller at a time)."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT_BYTES):
        env = {**os.environ, "CADRE_MATH_MEMORY_LIMIT": str(memory_limit)}
        self.proc = subprocess.Popen([sys.executable, "-m", "cadre.runtime.math_worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, close_fds=True)
        self.ready = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read_line(self, timeout: float) -> str | None:
        """One line from the worker, or None when it did not come in time."""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(max(timeout, 0.0)):
                return None
        return self.proc.stdout.readline().decode("utf-8", "replace")

    def solve(self, problem: str, timeout: float) -> dict:
        """The worker's answer as {"text"} or {"error"}; ToolError on timeout or death."""
        if not self.ready:  # the first line says sympy is imported, so it does not eat the limit
            if self._read_line(START_TIMEOUT_S) != "ready\n":
                self.kill()
                raise ToolError("the math tool could not start")
            self.ready = True
        try:
            self.proc.stdin.write((json.dumps({"problem": problem}) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            raise ToolError("the math tool failed on this problem") from None
        line = self._read_line(timeout)
        if line is None:
            self.kill()
            raise MathTooCostly(f"the math problem takes more than {timeout:g} s to compute")
        if not line:
            self.kill()  # died: the memory limit, most likely
            raise MathTooCostly("the math problem needs more memory than the math tool may use")
        return json.loads(line)

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class MathPool:
    """A few warm workers shared by every thread of the process."""

    def __init__(self, size: int = 2, time_limit: float = TIME_LIMIT_S,
                 memory_limit: int = MEMORY_LIMIT_BYTES):
        self.size, self.time_limit, self.memory_limit = size, time_limit, memory_limit
        self._idle: list[MathWorker] = []
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()

    def solve(self, problem: str) -> str:
        """The answer text; ToolError when sympy cannot read it, or it is too costly."""
        if not self._slots.acquire(timeout=self.time_limit):
            raise MathTooCostly(BUSY_MESSAGE)  # every worker is on a hard problem: do not queue more
        worker = None
        try:
            worker = self._take()
            answer = worker.solve(problem, self.time_limit)
        finally:
            if worker is not None:  # a killed worker is replaced now, so sympy imports while idle
                with self._lock:
                    self._idle.append(worker if worker.alive() else MathWorker(self.memory_limit))
            self._slots.release()
        if "error" in answer:
            raise (MathTooCostly if answer.get("costly") else ToolError)(answer["error"])
        return answer["text"]

    def _take(self) -> MathWorker:
        with self._lock:
            while self._idle:  # oldest first: a replacement may still be importing sympy
                worker = self._idle.pop(0)
                if worker.alive():
                    return worker
        return MathWorker(self.memory_limit)

    def warm(self) -> None:
        """Start the workers now (sympy imports in the background)."""
        with self._lock:
            while len(self._idle) < self.size:
                self._idle.append(MathWorker(self.memory_limit))

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.kill()


_POOL: MathPool | None = None
_POOL_LOCK = threading.Lock()


def math_pool() -> MathPool:
    """The process's pool (created on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = MathPool()
        return _POOL


def solve_math_safely(problem: str) -> str:
    """`solve_math(problem).text`, computed in a worker with a time and memory limit."""
    started = time.perf_counter()
    try:
        return math_pool().solve(problem)
    finally:
        log.debug("solve_math took %.3f s", time.perf_counter() - started)
