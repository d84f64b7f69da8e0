"""Without a sandbox the code judge refuses to run model code, unless --unsafe-judge.

`bwrap` is hidden by running `cadre` with a PATH that holds no programs, as on a machine
without bubblewrap; the check happens at start-up, before any model is called.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def collect(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps({"prompt": "write add", "test_list": ["assert add(1, 2) == 3"]}) + "\n")
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "PATH": str(empty)}
    return subprocess.run([sys.executable, "-m", "cadre.cli.main", "router", "collect", "--models", "nosuch",
                           "--data", str(data), "--judge", "code", "--output", str(tmp_path / "table.jsonl"),
                           *extra], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_no_sandbox_is_refused_with_one_line(tmp_path):
    proc = collect(tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the code judge needs a sandbox")
    assert "bubblewrap" in lines[0] and "--unsafe-judge" in lines[0]
    assert not (tmp_path / "table.jsonl").exists()


def test_unsafe_judge_warns_once_and_goes_on(tmp_path):
    proc = collect(tmp_path, "--unsafe-judge")
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: --unsafe-judge")]
    assert len(warnings) == 1, proc.stderr
    assert "needs a sandbox" not in proc.stderr
    assert "nosuch" in proc.stderr  # it went past the check to the (unknown) model


def test_unsafe_fallback_still_needs_the_tests_to_run(tmp_path):
    """The fallback (no bwrap) judges correctly, and sys.exit(0) is no pass there either."""
    script = ("from cadre.evaluation import judges, sandbox\n"
              "sandbox.allow_unsafe()\n"
              "assert sandbox.detect().kind == 'none'\n"
              "print(judges.code('def add(a, b):\\n    return a + b', 'assert add(1, 2) == 3'),"
              " judges.code('import sys; sys.exit(0)', 'assert False'))\n")
    unshare = shutil.which("unshare")
    if unshare:  # the fallback's network namespace, without bwrap
        (tmp_path / "unshare").symlink_to(unshare)
    env = {**os.environ, "PATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1.0", "0.0"]
    assert proc.stderr.count("warning: --unsafe-judge") == 1
