"""`cadre fleet run` through the CLI, on a real local Ray instance: tiny specialists fan
out as Ray tasks, match the same pipelines run one after another, survive a killed
worker and Ctrl-C, resume, and refuse bad input before any task starts."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[2]


def cadre(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
                          timeout=600, **kwargs)


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "cadre.cli.main", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})


def rows(out):
    return json.loads((out / "fleet.json").read_text())["rows"]


def wait_for(check, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (value := check()):
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_fleet_matches_sequential_runs_and_resumes(tiny_catalog, tmp_path):
    out = tmp_path / "fleet"
    done = cadre("fleet", "run", "a", "b", "--catalog", tiny_catalog.dir, "--output", out, "--cpus", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    table = (out / "fleet.md").read_text()
    assert table.count("| passed |") == 2 and "attempt 1" in table
    fleet = rows(out)
    assert {r["status"] for r in fleet.values()} == {"passed"}
    assert all(r["pid"] != os.getpid() and r["node"] for r in fleet.values())  # ran in Ray workers
    # the same pipeline, one process, one thread: the same metric and the same predictions
    alone = tmp_path / "alone-a"
    seq = cadre("specialist", "run", tiny_catalog.dir / "a.yaml", "--output", alone, "--quiet")
    assert seq.returncode == 0, seq.stderr[-2000:]
    report = json.loads((alone / "report.json").read_text())
    assert report["finetuned"]["metrics"]["accuracy"] == fleet["a"]["finetuned"]
    assert report["baseline"]["metrics"]["accuracy"] == fleet["a"]["baseline"]
    assert (alone / "predictions/finetuned.jsonl").read_text() == (out / "a/predictions/finetuned.jsonl").read_text()
    # a rerun keeps both without starting Ray; --fresh would rerun them
    again = cadre("fleet", "run", "a", "b", "--catalog", tiny_catalog.dir, "--output", out)
    assert again.returncode == 0 and again.stdout.count("kept from an earlier run") == 2
    assert "Ray (none)" in again.stdout


def test_a_killed_worker_is_retried_and_the_report_is_complete(tiny_catalog, tmp_path):
    tiny_catalog.add("slow", training={"batch_size": 8, "max_steps": 30, "max_length": 48, "seed": 3})
    out = tmp_path / "fleet"
    proc = start("fleet", "run", "slow", "--catalog", tiny_catalog.dir, "--output", out, "--retries", "1",
                 "--cpus", "1")
    attempts = out / "slow" / "attempts.jsonl"
    first = wait_for(lambda: attempts.is_file() and attempts.read_text().strip() and attempts.read_text())
    time.sleep(2)
    os.kill(json.loads(first.splitlines()[0])["pid"], signal.SIGKILL)  # the worker process ends mid-run
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-2000:]
    fleet = rows(out)
    assert fleet["slow"]["status"] == "passed" and fleet["slow"]["attempt"] == 2
    assert "attempt 2" in stdout and len(attempts.read_text().splitlines()) == 2


@pytest.mark.slow
def test_ctrl_c_keeps_finished_reports_and_a_rerun_resumes(tiny_catalog, tmp_path):
    tiny_catalog.add("slow", training={"batch_size": 8, "max_steps": 400, "max_length": 48, "seed": 3})
    out = tmp_path / "fleet"
    proc = start("fleet", "run", "a", "slow", "--catalog", tiny_catalog.dir, "--output", out, "--cpus", "2")
    wait_for(lambda: (out / "fleet.json").is_file() and "a" in rows(out))
    assert "slow" not in rows(out)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in stderr and "rerun the same command" in stderr
    assert rows(out)["a"]["status"] == "passed" and (out / "a" / "report.json").is_file()
    tiny_catalog.add("slow", training={"batch_size": 8, "max_steps": 4, "max_length": 48, "seed": 3})
    again = cadre("fleet", "run", "a", "slow", "--catalog", tiny_catalog.dir, "--output", out)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "1 kept from an earlier run" in again.stderr and rows(out)["slow"]["status"] == "passed"


def test_bad_input_is_one_line_and_starts_nothing(tiny_catalog, tmp_path):
    out = tmp_path / "fleet"
    base = ["fleet", "run", "--catalog", tiny_catalog.dir, "--output", out]
    for args, message in [(["nope"], "unknown specialist nope; catalog: a, b"),
                          (["a", "--ray", "127.0.0.1:1"], "--ray 127.0.0.1:1: cannot reach a Ray cluster"),
                          (["a", "--all"], "name the specialists to run, or pass --all")]:
        bad = cadre(*base, *args)
        assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0, bad.stderr
        assert message in bad.stderr
    tiny_catalog.add("big", resources={"cpus": 1, "gpus": 4})
    bad = cadre(*base, "a", "big", "--cpus", "1")
    assert bad.returncode == 2 and "specialist big asks for 1 CPUs, 4 GPUs" in bad.stderr, bad.stderr
    assert "nothing was started" in bad.stderr and not out.exists()
    tiny_catalog.add("strict", gates={"metric": "accuracy", "finetuned_target": 1.01})
    missed = cadre(*base, "strict", "--cpus", "1")
    assert missed.returncode == 3 and "missed (fine-tuned accuracy >= 1.01" in missed.stdout


def test_an_entry_asking_for_several_gpus_trains_data_parallel_under_torchrun(tiny_catalog, tmp_path):
    """The fleet task's body for `resources.gpus: 2` (Ray would have set its two GPUs): a
    real torchrun of two processes, here on the CPU with gloo."""
    from cadre.fleet.plan import plan
    from cadre.fleet.worker import run_specialist

    tiny_catalog.add("wide", resources={"cpus": 2, "gpus": 2})
    task = plan(["wide"], False, False, tmp_path / "fleet", tiny_catalog.dir)[0]
    row = run_specialist(task.to_dict())
    assert row["status"] == "passed", row
    report = json.loads((tmp_path / "fleet" / "wide" / "report.json").read_text())
    assert report["world_size"] == 2 and row["finetuned"] == report["finetuned"]["metrics"]["accuracy"]
