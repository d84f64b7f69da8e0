"""What a fleet run will do, decided before anything starts: which specialists, each one's
effective recipe, resources, run folder and a key that says whether an earlier run of it
can be kept. Bad names, specs and data paths fail here, before Ray is touched."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cadre.errors import CadreError
from cadre.training.lora.catalog import CATALOG_DIR, catalog, load_spec_file, resolve_data_path

DEFAULT_OUTPUT = Path("runs") / "fleet"


@dataclass
class FleetTask:
    """One specialist pipeline as a fleet task (plain data: it travels to a Ray worker)."""

    name: str
    spec: dict           # the catalog entry, data paths made absolute
    local_test: bool
    output: str          # this specialist's run folder (absolute)
    cpus: float
    gpus: float
    memory_gb: float | None
    max_steps: int | None = None
    key: str = ""        # sha256 of everything that decides the result

    def to_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)


def select(names: list[str], run_all: bool, catalog_dir: str | Path = CATALOG_DIR) -> dict[str, Path]:
    """Spec name → YAML path for the names asked for (or the whole catalog with --all)."""
    found = catalog(catalog_dir)
    if run_all == bool(names):
        raise CadreError("name the specialists to run, or pass --all (not both); "
                         f"catalog: {', '.join(found) or '(empty)'}")
    if run_all:
        if not found:
            raise CadreError(f"no specialists in {catalog_dir}")
        return found
    unknown = [n for n in names if n not in found]
    if unknown:
        raise CadreError(f"unknown specialist{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"catalog: {', '.join(found) or '(empty)'}")
    return {n: found[n] for n in dict.fromkeys(names)}


def plan(names: list[str], run_all: bool, local_test: bool, output: str | Path = DEFAULT_OUTPUT,
         catalog_dir: str | Path = CATALOG_DIR, max_steps: int | None = None) -> list[FleetTask]:
    """One FleetTask per specialist, each validated and keyed."""
    out = Path(output).resolve()
    tasks = []
    for name, path in select(names, run_all, catalog_dir).items():
        spec = load_spec_file(path)
        effective = spec.for_local_test() if local_test else spec
        data = spec.model_dump()
        data["dataset"]["path"] = resolve_data_path(spec.dataset.path)
        if "path" in spec.local_test.dataset:
            data["local_test"]["dataset"]["path"] = resolve_data_path(spec.local_test.dataset["path"])
        res = effective.resources
        task = FleetTask(name, data, local_test, str(out / name), res.cpus, res.gpus, res.memory_gb, max_steps)
        task.key = hashlib.sha256(json.dumps([data, local_test, max_steps], sort_keys=True,
                                             default=str).encode()).hexdigest()
        tasks.append(task)
    return tasks
