"""`cadre serve --workers N`: N processes answering on one port, each with its own engine.

uvicorn's supervisor binds the socket once and starts N worker processes; each worker
imports `cadre.cli.serve_workers:app`, which builds its engine from the arguments the
parent left in `$CADRE_SERVE_ARGS` (JSON). The memory budget is split: each worker's manager gets 1/N of
every device budget (explicit or automatic), so N workers together stay within it.

Metrics work across workers through Prometheus' multiprocess mode: the parent points
`$PROMETHEUS_MULTIPROC_DIR` at a fresh folder before the workers start, every worker
writes its counters there, and whichever worker answers `/metrics` sums them all.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading

from cadre.runtime.memory import check_smallest

ARGS_ENV = "CADRE_SERVE_ARGS"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
GAUGE_REFRESH_S = 5.0


def prepare_parent(settings: dict) -> str:
    """In the parent, before the workers start: the arguments for them and a fresh
    multiprocess metrics folder (returned, for removal at exit)."""
    os.environ[ARGS_ENV] = json.dumps(settings)
    folder = tempfile.mkdtemp(prefix="cadre-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    return folder


def cleanup_parent(folder: str) -> None:
    """Remove the metrics folder once every worker has stopped."""
    shutil.rmtree(folder, ignore_errors=True)


def split_budget(manager, workers: int) -> None:
    """Give this worker 1/`workers` of each device budget; a share smaller than every
    model on a device is the same one-line BudgetError as a too-small budget."""
    devices = {slot.device for slot in manager.slots.values() if slot.device != "remote"}
    for device in devices:
        manager.budgets[device] = manager.budget(device) // workers
    check_smallest(manager.slots.values(), manager.need, manager.budget)


def start_gauge_refresh(application) -> None:
    """Every worker copies its engine's gauges (loaded models, memory) into the shared
    metrics now and then, so a scrape answered by one worker shows all of them."""
    state = application.state

    def loop():
        while True:
            try:
                state.metrics.render(state.engine.metrics_snapshot())
            except Exception:  # metrics must never take a worker down
                pass
            threading.Event().wait(GAUGE_REFRESH_S)

    threading.Thread(target=loop, name="cadre-gauges", daemon=True).start()
