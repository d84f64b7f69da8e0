"""SkyPilot tasks whose command is a fleet run: read, check, rewrite, describe, launch.

`cadre fleet launch` reads a SkyPilot task YAML (configs/fleet/sky-*.yaml), checks it
with SkyPilot's own parser (offline: no credentials, no API server), optionally points
its `run` at `cadre fleet run SPEC...`, writes the final YAML and either stops there
(dry run) or launches it as a managed job or on a named cluster. `sky` is imported only
inside functions: it costs about a second, which `cadre --help` should not pay.
"""
from __future__ import annotations

import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from cadre.errors import CadreError

DEFAULT_TASK_OUT = Path("runs/fleet/sky-task.yaml")
OUTPUTS_MOUNT = "/outputs"  # the bucket mount a rewritten `run` writes its results under
DEFAULT_IDLE_MINUTES = 30
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class LaunchPlan:
    """A checked task: its YAML config (what gets written) and SkyPilot's parsed Task."""

    config: dict
    task: object  # sky.Task
    source: Path


def one_line(exc: BaseException) -> str:
    """An exception's message as one line: colours stripped, whitespace collapsed."""
    text = _ANSI.sub("", str(exc)) or type(exc).__name__
    return " ".join(text.split())


def read_config(path: str | Path) -> dict:
    """The task YAML as a dict, with one-line errors for a missing, unreadable or bad file."""
    from cadre.yamlio import read_mapping

    return read_mapping(path, "a SkyPilot task (a mapping with resources, run, ...)", missing="no such file")[0]


def parse_task(config: dict, where: str | Path):
    """SkyPilot's own Task for `config`; its schema error (unknown field, bad value) as
    one line naming the file. The parser consumes its input, so it gets a copy."""
    import sky

    limit = getattr(sys, "tracebacklimit", None)
    try:
        task = sky.Task.from_yaml_config(copy.deepcopy(config))
        task.validate_name()  # the name check SkyPilot otherwise leaves to launch time
    except Exception as exc:  # schema errors are ValueErrors; storage/assert ones are not
        raise CadreError(f"{where}: {one_line(exc)}") from None
    finally:
        _restore_tracebacklimit(limit)
    return task


def _restore_tracebacklimit(limit) -> None:
    # SkyPilot's print_exception_no_traceback() sets sys.tracebacklimit = 0 and, when an
    # exception escapes it, never puts it back; that would hide every later traceback.
    if limit is None:
        if hasattr(sys, "tracebacklimit"):
            del sys.tracebacklimit
    else:
        sys.tracebacklimit = limit


def check_specs(names: list[str], all_specs: bool) -> list[str]:
    """The catalog names to run (empty: keep the YAML's own `run`); unknown names are an
    error listing the valid ones."""
    from cadre.training.lora.catalog import catalog

    if names and all_specs:
        raise CadreError("name specialists or pass --all, not both")
    valid = list(catalog())
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise CadreError(f"unknown specialist {unknown[0]!r}; valid: {', '.join(valid) or '(none)'}")
    return valid if all_specs else list(names)


FLEET_RUN = ("cadre", "fleet", "run")
_VALUE_OPTIONS = {"--ray", "--output"}  # fleet run options that take a value


def fleet_line(line: str, chosen: list[str], config: dict, where: str | Path) -> str:
    """`line` (a `cadre fleet run ...` command) running `chosen` instead: its specialist
    arguments replaced, its options kept, `--output` under the bucket mount if it had none."""
    import shlex

    words = shlex.split(line)[len(FLEET_RUN):]
    kept, i = [], 0
    while i < len(words):
        word = words[i]
        takes_value = word in _VALUE_OPTIONS and i + 1 < len(words)
        if word.startswith("-") and word != "--all":
            kept += words[i:i + 2] if takes_value else [word]
        i += 2 if takes_value else 1
    if not any(w == "--output" or w.startswith("--output=") for w in kept):
        if OUTPUTS_MOUNT not in (config.get("file_mounts") or {}):
            raise CadreError(f"{where}: file_mounts has no {OUTPUTS_MOUNT} bucket, so the fleet's outputs would "
                             "vanish with the machine; add one (configs/fleet/sky-t4-pilot.yaml shows how)")
        kept += ["--output", f"{OUTPUTS_MOUNT}/fleet"]
    return shlex.join([*FLEET_RUN, *chosen, *kept])


def rewrite_run(config: dict, chosen: list[str], where: str | Path) -> str:
    """The task's `run` with its `cadre fleet run` line pointed at `chosen`; the other lines
    (activating the environment, say) stay as they are."""
    run = config.get("run")
    lines = run.splitlines() if isinstance(run, str) else []
    hits = [i for i, line in enumerate(lines) if line.split()[:3] == list(FLEET_RUN)]
    if not hits:
        raise CadreError(f"{where}: run has no `cadre fleet run` line to point at the specialists")
    for i in hits:
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        lines[i] = indent + fleet_line(lines[i], chosen, config, where)
    return "\n".join(lines) + "\n"


def plan(path: str | Path, names: list[str] = (), all_specs: bool = False) -> LaunchPlan:
    """Read and check the task YAML; with specialists named (or --all) its `run` becomes
    their fleet run. Everything is checked before anything is written or launched."""
    path = Path(path)
    config = read_config(path)
    parse_task(config, path)  # the file as given must be valid on its own
    chosen = check_specs(list(names), all_specs)
    if chosen:
        args = ["--all"] if all_specs else chosen
        config = {**config, "run": rewrite_run(config, args, path)}
    return LaunchPlan(config=config, task=parse_task(config, path), source=path)


def write_task(launch_plan: LaunchPlan, out: str | Path = DEFAULT_TASK_OUT) -> Path:
    """Write the final task YAML atomically; `sky launch` accepts it as it is."""
    import yaml

    from cadre.fsutil import atomic_write_text

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper, value):  # multi-line setup/run as literal blocks, readable as written
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    header = (f"# Written by `cadre fleet launch` from {launch_plan.source}.\n"
              "# Relative local paths (workdir, file_mounts) are taken from the folder you launch in.\n")
    body = yaml.dump(launch_plan.config, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    out = Path(out)
    atomic_write_text(out, header + body)
    return out


def _gb(value) -> str:
    return f"{value} GB" if value else "any"


def describe(task) -> list[str]:
    """What the task asks for: resources, file mounts, the run command."""
    lines = [f"task: {task.name or '(unnamed)'}  nodes: {task.num_nodes}  workdir: {task.workdir or '(none)'}"]
    for r in sorted(task.resources, key=str):
        accel = ", ".join(f"{k}x{v:g}" for k, v in (r.accelerators or {}).items()) or "none"
        recovery = (r.job_recovery or {}).get("strategy") or "default"
        lines.append(f"resources: accelerators {accel}; cpus {r.cpus or 'any'}; memory {_gb(r.memory)};"
                     f" disk {r.disk_size} GB; spot {'yes' if r.use_spot else 'no'} (recovery {recovery});"
                     f" cloud {r.cloud or 'any'}; region {r.region or 'any'}")
    for dst, src in sorted((task.file_mounts or {}).items()):
        lines.append(f"file mount: {dst} <- {src} (copy)")
    for dst, storage in sorted((task.storage_mounts or {}).items()):
        src = storage.source or f"bucket {storage.name}"
        lines.append(f"file mount: {dst} <- {src} ({storage.mode.value})")
    run = task.run.strip().splitlines() if isinstance(task.run, str) else []
    lines.append("run:" + ("" if run else " (none)"))
    lines += [f"  {line}" for line in run]
    return lines


def check_api_server() -> None:
    """SkyPilot's API server answers; else a one-line error saying how to get one.

    The SDK would otherwise start a local server in this venv, and SkyPilot 0.9.2's server
    does not run against cadre's pinned FastAPI, so it would die after a spawn; run it
    from its own venv instead (docs/fleet.md)."""
    import sky
    from sky.server import common as server_common

    url = server_common.get_server_url()
    try:
        server_common.check_server_healthy()
    except Exception as exc:  # unreachable, or a server of another version
        reason = "not reachable" if isinstance(exc, sky.exceptions.ApiServerConnectionError) else one_line(exc)
        raise CadreError(f"no usable SkyPilot API server at {url} ({reason[:200]}); start one with "
                         "`sky api start` from a SkyPilot venv or point at one with `sky api login -e URL` "
                         "(docs/fleet.md)") from None


def launch(task_yaml: Path, cluster: str | None = None, idle_minutes: int | None = DEFAULT_IDLE_MINUTES,
           down: bool = False):
    """Launch the written task: a managed job (spot instances recovered by the jobs
    controller) by default, or on the named cluster with autostop. SkyPilot's failures
    (no API server, no credentials, no capacity) become one line."""
    import sky

    limit = getattr(sys, "tracebacklimit", None)
    try:
        task = sky.Task.from_yaml(str(task_yaml))
        # local workdir and file mounts exist: fail here, before anything is started
        task.expand_and_validate_workdir()
        task.expand_and_validate_file_mounts()
        check_api_server()
        if cluster:
            request = sky.launch(task, cluster_name=cluster, idle_minutes_to_autostop=idle_minutes, down=down)
        else:
            request = sky.jobs.launch(task, name=task.name)
        return sky.stream_and_get(request)
    except (KeyboardInterrupt, CadreError):
        raise
    except Exception as exc:  # SkyPilot raises many types here; each is one line for the user
        raise CadreError(f"sky launch failed: {one_line(exc)}") from None
    finally:
        _restore_tracebacklimit(limit)
