"""`cadre fleet run`: every specialist pipeline as a Ray task, with its catalog resources,
retried when it fails or its worker dies, gathered into one fleet report.

The driver waits on the tasks and records each row as it arrives, so an interrupted fleet
(Ctrl-C) keeps every finished specialist's report, and a rerun resumes with the rest.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cadre.fleet.cluster import check_fits, connect, node_capacities
from cadre.fleet.plan import FleetTask
from cadre.fleet.state import KIND, FleetState, exit_code
from cadre.fleet.worker import run_specialist
from cadre.outputs import mark_output


class FleetInterrupted(Exception):
    """Ctrl-C: the finished rows are saved; the running tasks were cancelled."""


@dataclass
class FleetResult:
    """Rows in fleet order, where it ran and how long the whole fleet took."""

    rows: list[dict]
    cluster: dict
    seconds: float
    resumed: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """What the gates (and failures) say the process should exit with."""
        return exit_code(self.rows)


def _attempts(task: FleetTask) -> int:
    log = Path(task.output) / "attempts.jsonl"
    return sum(1 for line in log.read_text(encoding="utf-8").splitlines() if line.strip()) if log.is_file() else 0


def _failed_row(task: FleetTask, exc: BaseException) -> dict:
    """A task Ray gave up on after its retries (an exception, or its worker died each time)."""
    text = str(exc).strip().splitlines()
    reason = next((line.strip() for line in reversed(text) if line.strip()), type(exc).__name__)
    return {"name": task.name, "key": task.key, "status": "failed", "attempt": _attempts(task),
            "error": f"{type(exc).__name__}: {reason[:200]}"}


def _submit(ray, task: FleetTask, retries: int):
    (Path(task.output) / "attempts.jsonl").unlink(missing_ok=True)  # count this run's attempts only
    options = dict(num_cpus=task.cpus, num_gpus=task.gpus, max_retries=retries, retry_exceptions=True,
                   name=f"cadre-fleet-{task.name}")
    if task.memory_gb:
        options["memory"] = int(task.memory_gb * 2**30)
    return ray.remote(run_specialist).options(**options).remote(task.to_dict())


def run_fleet(tasks: list[FleetTask], folder: str | Path, address: str | None = None, retries: int = 2,
              resume: bool = True, num_cpus: int | None = None, progress: bool = True) -> FleetResult:
    """Run `tasks` on Ray (a local instance when `address` is None); returns the rows."""
    order = [t.name for t in tasks]
    started, state = time.time(), FleetState(folder, order)
    kept = [t.name for t in tasks if resume and state.finished(t)]
    for name in kept:
        state.rows[name]["resumed"] = True
    todo = [t for t in tasks if t.name not in kept]
    state.rows = {n: r for n, r in state.rows.items() if n in kept or n not in order}
    if not todo:  # everything finished earlier: nothing for Ray to do
        _say(progress, f"fleet: all {len(kept)} specialist(s) kept from an earlier run (--fresh reruns them)")
        state.save()
        return FleetResult([r for r in state.ordered() if r["name"] in order], {"address": "none", "nodes": 0},
                           time.time() - started, kept)
    with connect(address, num_cpus) as cluster:
        check_fits(todo, node_capacities())
        mark_output(folder, KIND)  # before any task writes: a fleet stopped at any point is resumed by a rerun
        import ray

        refs = {_submit(ray, t, retries): t for t in todo}
        _say(progress, f"fleet: {len(todo)} specialist(s) on Ray ({cluster['address']}, {cluster['nodes']} "
                       f"node(s)), {len(kept)} kept from an earlier run")
        try:
            _gather(ray, refs, state, progress)
        except KeyboardInterrupt:
            for ref in refs:
                ray.cancel(ref, force=True)
            state.save()
            raise FleetInterrupted(f"interrupted: {len(refs)} specialist(s) cancelled "
                                   f"({', '.join(t.name for t in refs.values())}); finished reports are kept "
                                   f"in {folder}; rerun the same command to resume") from None
    state.save()
    return FleetResult([r for r in state.ordered() if r['name'] in order], cluster, time.time() - started, kept)


def _gather(ray, refs: dict, state: FleetState, progress: bool) -> None:
    """Record each task's row as it finishes (the refs dict shrinks as they do)."""
    while refs:
        done, _ = ray.wait(list(refs), num_returns=1)
        task = refs.pop(done[0])
        try:
            row = ray.get(done[0])
        except ray.exceptions.RayError as exc:
            row = _failed_row(task, exc)
        state.record(row)
        _say(progress, f"  {row['name']}: {row['status']}" + (f" ({row.get('error')})" if row.get("error") else "")
             + f", attempt {row.get('attempt', '?')}" + (f", {row['wall_s']} s" if "wall_s" in row else ""))


def _say(progress: bool, line: str) -> None:
    if progress:
        print(line, file=sys.stderr, flush=True)


def read_rows(folder: str | Path) -> list[dict]:
    """The rows of a fleet folder (for `cadre fleet report`)."""
    path = Path(folder) / "fleet.json"
    return list(json.loads(path.read_text(encoding="utf-8")).get("rows", {}).values()) if path.is_file() else []
