"""An interrupted run resumes when the same command is run again (issue 23, item 8).

The real `cadre` command in a subprocess, on tiny settings, stopped with SIGKILL or SIGTERM
at several points (as soon as its first file appears, after a finished stage), then run
again unchanged: no `--overwrite`, the finished stages' files untouched (same bytes, same
mtime), and the final result on disk. The fleet variants start Ray twice, so they are slow.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.fleet.conftest import spec_dict

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def start(*args, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cadre.cli.main", *map(str, args)], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def cadre(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, args)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=600, check=False)


def stop_when(proc: subprocess.Popen, ready, sig: int, timeout: float = 300) -> None:
    """Send `sig` as soon as `ready()` holds; fail if the command ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"the command ended before the stop point: {proc.stderr.read()[-2000:]}")
        assert time.monotonic() < deadline, "the stop point never came"
        time.sleep(0.02)
    proc.send_signal(sig)
    proc.communicate(timeout=120)


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.fixture()
def spec_file(tmp_path, tiny_base, sentiment_csv):
    """A tiny sentiment specialist whose baseline takes a second or so (200 test rows)."""
    data = tmp_path / "data"
    data.mkdir()
    sentiment_csv(data / "train.csv", 64, 1)
    sentiment_csv(data / "test.csv", 200, 2)
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    spec = spec_dict("tiny", tiny_base, data, steps=4)
    (catalog / "tiny.yaml").write_text(yaml.safe_dump(spec))
    return catalog / "tiny.yaml"


# ----------------------------------------------------------------------------- specialist run
def test_specialist_run_killed_at_its_first_write_resumes(spec_file, tmp_path):
    """SIGKILL as soon as the run folder has its prepared data (before any stage finished)."""
    out = tmp_path / "run"
    command = ("specialist", "run", spec_file, "--output", out, "--quiet")
    stop_when(start(*command, cwd=tmp_path), lambda: (out / "data").is_dir(), signal.SIGKILL)
    assert not (out / "report.json").exists()
    again = cadre(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "report.json").read_text())["finetuned"]["metrics"]["accuracy"] is not None


@pytest.mark.slow
def test_specialist_run_stopped_after_its_baseline_keeps_it(spec_file, tmp_path):
    out = tmp_path / "run"
    command = ("specialist", "run", spec_file, "--output", out, "--quiet")
    stop_when(start(*command, cwd=tmp_path), lambda: (out / "baseline.json").is_file(), signal.SIGTERM)
    kept = snapshot(out / "baseline.json")
    again = cadre(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert snapshot(out / "baseline.json") == kept
    report = json.loads((out / "report.json").read_text())
    assert report["baseline"]["cached"] is True  # the finished stage was reused, not redone


# ----------------------------------------------------------------------------- train
QA = "\n\n".join(f"Q: {verb} {thing} {i}\nA: [E:tool]{label}"
                 for i in range(12) for label, verb in (("image", "draw"), ("chat", "hello"), ("math", "add"))
                 for thing in ("a dog", "the sea", "two numbers")) + "\n"


@pytest.mark.parametrize("sig", [signal.SIGKILL, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)])
def test_train_stopped_after_an_epoch_resumes_and_keeps_it(tmp_path, sig):
    (tmp_path / "router.txt").write_text(QA)
    out = tmp_path / "router"
    command = ("train", "--type", "router", "--data", "router.txt", "--epochs", "3", "--model-size", "nano",
               "--output", out, "--quiet", "--teacher", "none")
    state = out / "trainer_state.json"
    stop_when(start(*command, cwd=tmp_path), lambda: state.is_file(), sig)
    first = json.loads(state.read_text())
    assert first["epoch"] < 3
    again = cadre(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "continuing it" in again.stderr
    final = json.loads(state.read_text())
    assert final["epoch"] == 3 and len(final["history"]) == 3
    assert final["history"][:first["epoch"]] == first["history"]  # finished epochs kept, not retrained


def test_train_with_other_settings_still_refuses(tmp_path):
    """Resuming is only for the same command: another run's checkpoint is never continued."""
    (tmp_path / "router.txt").write_text(QA)
    out = tmp_path / "router"
    base = ("train", "--type", "router", "--data", "router.txt", "--model-size", "nano", "--output", out,
            "--quiet", "--teacher", "none")
    assert cadre(*base, "--epochs", "1", cwd=tmp_path).returncode == 0
    kept = snapshot(out / "trainer_state.json")
    other = cadre(*base, "--epochs", "1", "--lr", "0.01", cwd=tmp_path)
    assert other.returncode == 2 and "already exists (a cadre router folder)" in other.stderr
    assert snapshot(out / "trainer_state.json") == kept


# ----------------------------------------------------------------------------- fleet run
def fleet_rows(out: Path) -> dict:
    return json.loads((out / "fleet.json").read_text())["rows"]


@pytest.mark.slow
@pytest.mark.parametrize("sig, point", [(signal.SIGTERM, "baseline.json"), (signal.SIGKILL, "data"),
                                        (signal.SIGKILL, "baseline.json")])
def test_fleet_stopped_during_its_first_specialist_resumes(spec_file, tmp_path, sig, point):
    out = tmp_path / "fleet"
    command = ("fleet", "run", "tiny", "--catalog", spec_file.parent, "--output", out, "--cpus", "1")
    stop_when(start(*command, cwd=tmp_path), lambda: (out / "tiny" / point).exists(), sig)
    assert not (out / "fleet.json").exists() or "tiny" not in fleet_rows(out)
    kept = snapshot(out / "tiny" / "baseline.json") if point == "baseline.json" else None
    again = cadre(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert fleet_rows(out)["tiny"]["status"] == "passed"
    assert (out / "tiny" / "report.json").is_file()
    if kept:
        assert snapshot(out / "tiny" / "baseline.json") == kept
