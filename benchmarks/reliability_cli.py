"""Reliability probe, CLI and code judge (issue 13 sections 3-5): tried / handled / failed.

    python benchmarks/reliability_cli.py                      # this tree, prints the table
    python benchmarks/reliability_cli.py --baseline REV --write   # REV's tree and this one, alternating;
                                                             # writes docs/reliability.md

CLI: every case of tests/cli/test_bad_input.py, through `python -m cadre.cli.main` with
PYTHONPATH set to the probed tree; handled = exit 2, one `error:` line naming the problem
(the test's expected text), no traceback and the case's folder unchanged. Code judge: each escape below as model code plus tests that
pass only if it worked; handled = score 0.0 and no trace on the host (file, process,
connection), and the control answer still scores 1.0. The baseline tree is exported with
`git archive`, so nothing in the repository changes.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._report import machine, table  # noqa: E402

DOC = ROOT / "docs" / "reliability.md"
SECTION = "CLI and code judge"


# ----------------------------------------------------------------------------- CLI cases
def cli_cases():
    spec = importlib.util.spec_from_file_location("bad_input", ROOT / "tests" / "cli" / "test_bad_input.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES, module._snapshot, module.QA


def probe_cli(tree: Path, checkpoint: Path) -> dict[str, bool]:
    cases, snapshot, _ = cli_cases()
    handled = {}
    for name, (build, message) in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            argv = build(folder, checkpoint)
            before = snapshot(folder)
            env = {**os.environ, "PYTHONPATH": str(tree), "CADRE_CONFIG": ""}
            proc = subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, argv)], cwd=folder, env=env,
                                  capture_output=True, text=True, timeout=600)
            errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
            handled[name] = (proc.returncode == 2 and len(errors) == 1 and message in errors[0]
                             and "Traceback" not in proc.stderr + proc.stdout and snapshot(folder) == before)
    return handled


# ----------------------------------------------------------------------------- judge escapes
def judge(tree: Path, code: str, tests: str, timeout: float = 5.0, env_extra: dict | None = None) -> tuple[float, float]:
    """Score one answer with the tree's code judge in a fresh process; (score, seconds).

    It runs in an empty folder: `python -c` puts the cwd before PYTHONPATH on sys.path."""
    caller = ("import sys, json; from cadre.evaluation import judges; a = json.loads(sys.argv[1]); "
              "print(judges.code(a[0], a[1], timeout=a[2]))")
    env = {**os.environ, "PYTHONPATH": str(tree), **(env_extra or {})}
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run([sys.executable, "-c", caller, json.dumps([code, tests, timeout])], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=120)
    took = time.monotonic() - start
    try:
        return float(proc.stdout.strip().splitlines()[-1]), took
    except (IndexError, ValueError):
        return -1.0, took  # the judge itself failed: not a pass, but not handled either


def _marked(marker: str) -> list[int]:
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(int(pid))
        except OSError:
            continue
    return pids


def _reap(marker: str) -> bool:
    """True when no process carries the marker; kills (by pid) the ones this probe caused."""
    time.sleep(0.5)
    pids = _marked(marker)
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    return not pids


def escapes(tree: Path, work: Path) -> dict[str, bool]:
    """Each attack: True when it failed (the judge held)."""
    out = {}
    score, _ = judge(tree, "def add(a, b):\n    return a + b", "assert add(2, 3) == 5")
    out["control: a correct answer passes"] = score == 1.0
    target = work / f"pwned-{uuid.uuid4().hex}"
    score, _ = judge(tree, f"open({str(target)!r}, 'w').write('x')\nok = True", "assert ok")
    out["write outside its folder"] = score == 0.0 and not target.exists()
    for name, path in (("read /etc/shadow", "/etc/shadow"), ("read the repository", str(tree / "cadre" / "__init__.py"))):
        score, _ = judge(tree, f"ok = len(open({path!r}, 'rb').read()) > 0", "assert ok")
        out[name] = score == 0.0
    secret = f"sk-{uuid.uuid4().hex}"
    code = ("import os\nfound = b''\nfor p in ['self', str(os.getppid())] + [p for p in os.listdir('/proc') if p.isdigit()]:\n"
            "    try:\n        found += open(f'/proc/{p}/environ', 'rb').read()\n    except OSError:\n        pass\n"
            f"ok = {secret!r}.encode() in found")
    score, _ = judge(tree, code, "assert ok", env_extra={"OPENAI_API_KEY": secret})
    out["API key from /proc/PPID/environ"] = score == 0.0
    out.update(_socket_escapes(tree, work))
    bomb = ("import os, time\nn = 0\ntry:\n    for _ in range(300):\n        if os.fork() == 0:\n"
            "            time.sleep(3); os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nok = n == 300")
    score, _ = judge(tree, bomb, "assert ok")
    out["fork bomb (300 processes)"] = score == 0.0
    marker = f"survivor-{uuid.uuid4().hex}"
    judge(tree, "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(20)  # "
          f"{marker}'], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\nok = True",
          "assert ok")
    out["setsid child outlives the judge"] = _reap(marker)
    marker = f"holder-{uuid.uuid4().hex}"
    score, took = judge(tree, "import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', 'import time; "
                        f"time.sleep(20)  # {marker}'], start_new_session=True)\ntime.sleep(20)", "assert True", 2.0)
    out["holding stdout stretches a 2 s timeout"] = score == 0.0 and took < 6 and _reap(marker)
    for name, escape in (("sys.exit(0) fakes a pass", "import sys; sys.exit(0)"),
                         ("os._exit(0) fakes a pass", "import os; os._exit(0)")):
        score, _ = judge(tree, f"def add(a, b):\n    return a - b\n{escape}", "assert add(2, 3) == 5")
        out[name] = score == 0.0
    score, _ = judge(tree, "x = bytearray(4 * 1024 ** 3)\nok = True", "assert ok")
    out["allocate 4 GB"] = score == 0.0
    score, _ = judge(tree, "open('big', 'wb').write(b'x' * (200 << 20))\nok = True", "assert ok")
    out["write a 200 MB file"] = score == 0.0
    return out


def _socket_escapes(tree: Path, work: Path) -> dict[str, bool]:
    out = {}
    path = work / f"s-{uuid.uuid4().hex[:8]}.sock"
    with socket.socket(socket.AF_UNIX) as srv:
        srv.bind(str(path)); srv.listen(); srv.setblocking(False)
        code = (f"import socket\ns = socket.socket(socket.AF_UNIX); s.settimeout(2)\ntry:\n    s.connect({str(path)!r}); "
                "ok = True\nexcept OSError:\n    ok = False")
        score, _ = judge(tree, code, "assert ok")
        out["AF_UNIX socket of a host process"] = score == 0.0 and not _accepted(srv)
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.setblocking(False)
        code = (f"import _socket\ns = _socket.socket(); s.settimeout(2)\ntry:\n    s.connect(('127.0.0.1', "
                f"{srv.getsockname()[1]})); ok = True\nexcept OSError:\n    ok = False")
        score, _ = judge(tree, code, "assert ok")
        out["TCP to the host through _socket"] = score == 0.0 and not _accepted(srv)
    return out


def _accepted(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
        return True
    except BlockingIOError:
        return False


# ----------------------------------------------------------------------------- report
def export_tree(rev: str, dest: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def train_checkpoint(dest: Path) -> Path:
    data = dest / "router.txt"
    data.write_text(cli_cases()[2])
    subprocess.run([sys.executable, "-m", "cadre.cli.main", "train", "--type", "router", "--data", str(data),
                    "--epochs", "1", "--quiet", "--output", str(dest / "ck")], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return dest / "ck"


def summarise(results: dict[str, dict[str, bool]]) -> list[list]:
    return [[area, len(r), sum(r.values()), len(r) - sum(r.values())] for area, r in results.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="A git revision to probe too (before the fixes), alternating with this tree.")
    ap.add_argument("--write", action="store_true", help=f"Write the '{SECTION}' section of docs/reliability.md.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cadre-probe-") as tmp:
        work = Path(tmp)
        checkpoint = train_checkpoint(work)
        trees = {"this tree": ROOT}
        if args.baseline:
            trees = {f"before ({args.baseline})": export_tree(args.baseline, Path(tempfile.mkdtemp(dir=work))),
                     "after (this tree)": ROOT}
        load = [os.getloadavg()[0]]
        results: dict[str, dict] = {label: {} for label in trees}
        for label, tree in trees.items():  # alternate: CLI for both, then the judge for both
            results[label]["CLI bad input (sections 4, 5)"] = probe_cli(tree, checkpoint)
        for label, tree in trees.items():
            results[label]["code judge escapes (section 3)"] = escapes(tree, work)
        load.append(os.getloadavg()[0])
    rows = [[label, *row] for label, areas in results.items() for row in summarise(areas)]
    body = table(["tree", "area", "tried", "handled", "failed"], rows)
    failed = {label: [n for r in areas.values() for n, ok in r.items() if not ok] for label, areas in results.items()}
    notes = "\n".join(f"- {label} failed: {', '.join(names) or 'none'}" for label, names in failed.items())
    text = f"{body}\n\n{notes}\n\nLoad average {load[0]:.1f} at the start, {load[1]:.1f} at the end (shared machine)."
    print(text)
    if args.write:
        write(text, "python benchmarks/reliability_cli.py" + (f" --baseline {args.baseline}" if args.baseline else "")
              + " --write")


def write(body: str, command: str) -> None:
    """Replace this section of docs/reliability.md (between its markers), atomically."""
    import datetime as dt
    import re

    from cadre.fsutil import atomic_write_text

    start, end = f"<!-- BEGIN {SECTION} figures -->", f"<!-- END {SECTION} figures -->"
    block = f"{start}\n`{command}`\n\n_{dt.date.today().isoformat()}, {machine()}_\n\n{body}\n{end}"
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"error: {DOC} has no {start} marker")
    atomic_write_text(DOC, pattern.sub(lambda _: block, text))


if __name__ == "__main__":
    main()
