"""One specialist pipeline, run where Ray put it: the body of a fleet task.

A missed gate and a bad-input error are results (the report says so); anything else is
raised so that Ray retries the task. Each attempt is recorded in the run folder's
`attempts.jsonl` (pid, host, node), which is also how a killed worker shows up.
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from cadre.errors import CadreError, GateFailed


def where() -> dict:
    """This process: host, pid and the Ray node id when inside Ray."""
    node = None
    try:
        import ray

        if ray.is_initialized():
            node = ray.get_runtime_context().get_node_id()
    except ImportError:
        pass
    return {"host": socket.gethostname(), "pid": os.getpid(), "node": node}


def _record_attempt(out: Path, place: dict) -> int:
    """Append this attempt to attempts.jsonl; returns the attempt number (1-based)."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / "attempts.jsonl"
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({**place, "started": time.time()}) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return sum(1 for line in log.read_text(encoding="utf-8").splitlines() if line.strip())


def summarize(report: dict) -> dict:
    """The fleet table's view of one specialist report."""
    gates = report.get("gates") or {}
    metric = gates.get("metric")
    base = (report.get("baseline") or {}).get("metrics", {}).get(metric)
    tuned = (report.get("finetuned") or {}).get("metrics", {}).get(metric)
    return {"metric": metric, "baseline": base, "finetuned": tuned, "gate_passed": gates.get("passed"),
            "gate_summary": gates.get("summary"), "device": report.get("device")}


def _data_parallel(task: dict, out: Path) -> dict:
    """An entry asking for several GPUs: its own torchrun over the task's GPUs (Ray set
    CUDA_VISIBLE_DEVICES to them), the recipe passed as a YAML file in the run folder."""
    import yaml

    from cadre.fsutil import atomic_write_text
    from cadre.training.lora.distributed import relaunch

    spec_file = out / "fleet-spec.yaml"
    atomic_write_text(spec_file, yaml.safe_dump(task["spec"], sort_keys=False))
    args = ["--output", str(out), "--quiet", "--overwrite"] + (["--local-test"] if task["local_test"] else []) + \
        (["--max-steps", str(task["max_steps"])] if task.get("max_steps") else [])
    relaunch(str(spec_file), int(task["gpus"]), args)
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def run_specialist(task: dict) -> dict:
    """Run one FleetTask (as a dict) to its report; returns the fleet row."""
    from cadre.training.lora.catalog import SpecialistSpec
    from cadre.training.lora.pipeline import RunOptions, run

    import torch

    started, out, place = time.time(), Path(task["output"]), where()
    attempt = _record_attempt(out, place)
    torch.set_num_threads(max(1, int(task["cpus"])))  # one task, its own share of the cores
    row = {"name": task["name"], "key": task["key"], "attempt": attempt, **place}
    opts = RunOptions(local_test=task["local_test"], output=str(out), max_steps=task.get("max_steps"),
                      progress=False)
    try:
        if task["gpus"] > 1:
            report = _data_parallel(task, out)
        else:
            report = run(SpecialistSpec.model_validate(task["spec"]), opts)
        row.update(status="passed", **summarize(report))
    except CadreError as exc:
        if exc.exit_code != GateFailed.exit_code:  # bad input: retrying cannot help
            row.update(status="error", error=str(exc))
        else:
            report = json.loads((out / "report.json").read_text(encoding="utf-8"))
            row.update(status="gate missed", **summarize(report))
    row["wall_s"] = round(time.time() - started, 2)
    return row
