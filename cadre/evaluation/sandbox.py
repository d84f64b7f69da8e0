"""The code judge's sandbox: run model-written Python under real isolation.

With Debian's `bubblewrap` (`bwrap`) the program gets:
  - a read-only view of only the interpreter and its libraries (/usr), nothing of /etc,
    /home, /root, /work or the repository; a read-only root, /dev and /proc; the only
    writable places are a private /tmp (its cwd) and /dev/shm, each a tmpfs capped in
    bytes and in files, and SysV IPC with low limits (cadre.evaluation.sandbox_space), so
    the program cannot fill the host's memory;
  - an empty environment, new user, PID, IPC, UTS, cgroup and network namespaces (no
    network, no host AF_UNIX sockets, no other process's /proc) and no nested user
    namespace; a PID namespace, so the
    whole tree (setsid and double-forked children included) dies with the program;
  - limits on CPU time, memory, file size, open files and processes. As root it first
    drops to `nobody`, since the kernel ignores the process limit for uid 0.
Output goes to a file, not a pipe, so a child holding stdout cannot stretch the timeout.

A pass needs the tests to run to the end: a harness runs the code and its tests with
`exec`, and only after they finish prints a random token it read from stdin. Exiting
early (`sys.exit(0)`, `os._exit(0)`, a killed process) is a fail. This stops accidental
and naive fake passes; code that inspects the harness's own frames could still find the
token, so the isolation above, not the token, is the security boundary.

Without bwrap the judge refuses to run code unless `allow_unsafe()` was called (the CLI's
`--unsafe-judge`); it then runs with rlimits and `unshare -n` only, and warns once.
"""
from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cadre.errors import CadreError
from cadre.evaluation import sandbox_space

NOBODY = 65534
FILE_BYTES = 16 << 20         # RLIMIT_FSIZE: the largest file the program may write
EXTRA_PROCESSES = 32          # processes the program may start beyond what its uid runs
_state = {"unsafe": False, "warned": False, "bounded": True}

HARNESS = '''\
import os, sys
def _cadre_main():
    token = sys.stdin.readline().strip()
    null = os.open(os.devnull, os.O_RDONLY); os.dup2(null, 0); os.close(null)
    out = os.dup(1)
    with open(sys.argv[1], encoding="utf-8") as f:
        source = f.read()
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(source, "program.py", "exec"), namespace)
    except BaseException:  # SystemExit included: leaving before the tests end is no pass
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush(); sys.stderr.flush()
    os.write(out, ("\\n" + token + "\\n").encode())
    os._exit(0)
_cadre_main()
'''


@dataclass(frozen=True)
class Isolation:
    """The isolation found on this machine: `bwrap` or `none`, and why."""
    kind: str
    detail: str


def allow_unsafe(flag: bool = True) -> None:
    """Let the judge run code without isolation (the CLI's --unsafe-judge)."""
    _state["unsafe"] = flag


@functools.lru_cache(maxsize=1)
def detect() -> Isolation:
    """Probe once whether bwrap can start a Python here (it needs user namespaces): first
    with the bounded writable space of sandbox_space, else (where this process may not
    mount in a user namespace, e.g. under an AppArmor user-namespace restriction) with
    bwrap's own size-capped tmpfs, which has no file cap; the detail says which."""
    if not shutil.which("bwrap"):
        return Isolation("none", "bubblewrap (bwrap) is not installed")
    why = first = ""
    for bounded in (True, False):
        try:
            result = _run_isolated("print(6 * 7)", timeout=20.0, memory_mb=512, bounded=bounded)
        except (OSError, subprocess.SubprocessError) as exc:
            why = f"bwrap cannot start: {exc}"
        else:
            if result.completed and "42" in result.output:
                _state["bounded"] = bounded
                note = "" if bounded else f"; /tmp and /dev/shm have no file cap here ({first})"
                return Isolation("bwrap", f"bubblewrap, python {_interpreter()}{note}")
            why = f"bwrap does not work here: {result.output.strip()[-200:] or result.returncode}"
        first = first or why
    return Isolation("none", why)


def check(unsafe: bool | None = None) -> Isolation:
    """Call before judging code: raise when there is no isolation and unsafe is not allowed.

    With unsafe allowed and no isolation, warns once on stderr.
    """
    if unsafe is not None:
        allow_unsafe(unsafe)
    found = detect()
    if found.kind == "none":
        if not _state["unsafe"]:
            raise CadreError(f"the code judge needs a sandbox and {found.detail}; install bubblewrap "
                             "(apt-get install bubblewrap) or pass --unsafe-judge to run untrusted code unisolated")
        if not _state["warned"]:
            _state["warned"] = True
            print("warning: --unsafe-judge: running model-written code without a sandbox "
                  f"({found.detail})", file=sys.stderr)
    return found


@dataclass
class RunResult:
    """What a sandboxed run gave: completed is True only when the harness reached its end."""
    returncode: int
    output: str
    completed: bool
    timed_out: bool = False


def run(program: str, timeout: float, memory_mb: int) -> RunResult:
    """Run `program` in the best sandbox available (see check())."""
    if check().kind == "bwrap":
        return _run_isolated(program, timeout, memory_mb)
    return _run_job(program, timeout, memory_mb, unshare_prefix() + [_interpreter(), "-I", "-B"], None)


def _run_isolated(program: str, timeout: float, memory_mb: int, bounded: bool | None = None) -> RunResult:
    python = _interpreter()
    bounded = _state["bounded"] if bounded is None else bounded
    return _run_job(program, timeout, memory_mb, _bwrap_prefix(python, bounded) + [python, "-I", "-B"], "/job",
                    bounded_space=bounded)


def _run_job(program: str, timeout: float, memory_mb: int, prefix: list[str], job_mount: str | None,
             bounded_space: bool = False) -> RunResult:
    """Write the harness and program to a job folder, run it with a token, read the verdict."""
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="cadre-judge-") as tmp:
        job = Path(tmp) / "job"
        job.mkdir()
        if bounded_space:
            sandbox_space.prepare(Path(tmp))
        (job / "harness.py").write_text(HARNESS, encoding="utf-8")
        (job / "program.py").write_text(program, encoding="utf-8")
        for p in (Path(tmp), job, job / "harness.py", job / "program.py"):
            p.chmod(0o755 if p.is_dir() else 0o644)  # readable after dropping to nobody
        where = job_mount or str(job)
        cmd = [a.replace("{root}", tmp) for a in prefix] + [f"{where}/harness.py", f"{where}/program.py"]
        with open(Path(tmp) / "output", "w+b") as out:
            rc, timed_out = _spawn(cmd, token, out, timeout, memory_mb, cwd=tmp if job_mount is None else "/",
                                   space_root=tmp if bounded_space else None)
            out.seek(0, os.SEEK_END)
            out.seek(max(0, out.tell() - 4000))
            text = out.read().decode("utf-8", "replace")
    if timed_out:
        return RunResult(-9, f"timeout after {timeout:g} s", False, True)
    lines = text.rstrip("\n").split("\n")
    completed = rc == 0 and lines[-1] == token
    if completed:
        text = "\n".join(lines[:-1]).rstrip("\n") + "\n"
    killed = (signal.SIGXCPU, signal.SIGKILL)  # the CPU limit; bwrap reports a signal as 128 + its number
    return RunResult(rc if (completed or rc != 0) else 1, text.replace(token, "")[-2000:], completed,
                     rc in {-s for s in killed} | {128 + s for s in killed})


def _spawn(cmd: list[str], token: str, out, timeout: float, memory_mb: int, cwd: str,
           space_root: str | None = None) -> tuple[int, bool]:
    """Start the job in its own session, feed the token, wait; kill the group at the timeout."""
    import math

    cpu_s = max(1, math.ceil(timeout)) + 1  # a margin so the wall clock usually fires first
    proc = subprocess.Popen(cmd, cwd=cwd, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                            # preexec_fn: uid drop and rlimits must happen in the child before exec
                            preexec_fn=_child_setup(cpu_s, memory_mb, space_root),  # noqa: PLW1509
                            start_new_session=True)
    try:
        proc.stdin.write((token + "\n").encode())
        proc.stdin.close()
    except OSError:
        pass  # the program already exited; its verdict says so
    try:
        return proc.wait(timeout=timeout), False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # bwrap --die-with-parent takes the namespace down
        proc.wait()
        return -9, True


@functools.lru_cache(maxsize=1)
def unshare_prefix() -> list[str]:
    """The fallback's network cut: `unshare -n` or `unshare -r -n`, probed as the uid the
    program will run as ([] when neither works)."""
    exe = shutil.which("unshare")
    for prefix in ([exe, "-n"], [exe, "-r", "-n"]) if exe else ():
        try:
            done = subprocess.run(prefix + ["true"], capture_output=True, timeout=10, check=False,
                                  preexec_fn=_drop_root)  # noqa: PLW1509
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return prefix
    return []


def _drop_root() -> None:
    """uid 0 ignores RLIMIT_NPROC and reads every file: run the sandbox as nobody."""
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def _child_setup(cpu_s: int, memory_mb: int, space_root: str | None = None):
    """A preexec_fn: drop root to nobody, enter the bounded writable space (under bwrap),
    then set CPU, memory, file, fd and process limits."""
    limit_uid = NOBODY if os.getuid() == 0 else os.getuid()
    nproc = _processes_of(limit_uid) + EXTRA_PROCESSES  # counted before fork: no /proc reads in the child

    def apply() -> None:
        import resource

        _drop_root()
        if space_root is not None:
            try:
                sandbox_space.enter(space_root)
            except OSError as exc:  # the reason lands in the job's output; exit code 126 (not run)
                os.write(2, f"sandbox setup failed: {exc.strerror}\n".encode())
                os._exit(126)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        mem = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def _processes_of(uid: int) -> int:
    """How many processes `uid` runs now (RLIMIT_NPROC counts them all)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += os.stat(entry.path).st_uid == uid
            except OSError:
                continue
    return count


@functools.lru_cache(maxsize=1)
def _interpreter() -> str:
    """A Python the sandbox can see: the base interpreter when nobody can read it, else /usr's."""
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    if os.getuid() != 0 or base.startswith("/usr/"):
        return base
    system = shutil.which("python3", path="/usr/bin:/bin")
    return os.path.realpath(system) if system else base


def _bwrap_prefix(python: str, bounded: bool = True) -> list[str]:
    """bwrap arguments: namespaces, read-only /usr (and the interpreter's prefix), the bounded
    /tmp and /dev/shm, and everything else read-only. `{root}` stands for the job's folder.

    Bounded: no `--unshare-ipc`, so the program keeps the IPC namespace whose limits
    sandbox_space.enter() lowered; bwrap runs as uid 0 of that user namespace, so it would
    pass its capabilities on: `--cap-drop ALL`, and the program runs as `nobody` there.
    Otherwise bwrap's own tmpfs, capped in bytes only, and a fresh IPC namespace.
    """
    spaces = ["--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--uid", str(NOBODY),
              "--gid", str(NOBODY)] if bounded else ["--unshare-all"]
    args = ["bwrap", "--unshare-user", *spaces, "--disable-userns", "--cap-drop", "ALL",
            "--die-with-parent", "--new-session", "--clearenv",
            "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/tmp",
            "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    prefix = str(Path(python).parent.parent)
    if not prefix.startswith("/usr"):
        args += ["--ro-bind", prefix, prefix]
    writable = sandbox_space.bwrap_binds("{root}") if bounded else sandbox_space.bwrap_tmpfs()
    args += ["--proc", "/proc", "--dev", "/dev", *writable,
             "--ro-bind", "{root}/job", "/job", "--remount-ro", "/dev", "--remount-ro", "/proc",
             "--remount-ro", "/", "--chdir", "/tmp"]
    return args
