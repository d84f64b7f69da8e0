"""`cadre models list` (status, estimated and measured memory), `cadre models plan` (the
models that fit a budget, and why) and `cadre models ask` (one request through the Engine,
printing the route, the reason and the latency)."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from cadre.cli.verbs import verb

CONFIG_HELP = "Project file (cadre.yaml or specialized_models.json); default: $CADRE_CONFIG, ./cadre.yaml, built-in."


@verb("list", group="models")
def list_models(config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
                measure: bool = typer.Option(False, help="Load each model once (one at a time) to measure its memory."),
                memory_budget: str | None = typer.Option(None, help="Budget such as 2GB (default: the project's, or auto)."),
                as_json: bool = typer.Option(False, "--json", help="One JSON object per model."),
                check: bool = typer.Option(False, "--check", help="Exit 2 when any model has a problem "
                                           "(a missing path, or more memory than its device's budget).")) -> None:
    """Every model with its status (loaded, not loaded, missing), estimated and measured memory,
    and its recorded scoreboard score ("unscored" until `cadre scoreboard` has run: the primary serves).

    A problem (missing path, budget too small) is shown per model; --check makes it an error."""
    from cadre.config import find_config
    from cadre.runtime.manager import ModelManager

    project = find_config(config)
    from cadre.runtime.gates import score_label

    manager = ModelManager.from_config(project, memory_budget=memory_budget)
    primary = manager.registry.primary().name
    rows = []
    for name in manager.slots:
        problem = _problem(manager.slots[name].spec)
        if measure and not problem:
            problem = _measure(manager, name)
        row = next(s for s in manager.status() if s["name"] == name)
        row["score"] = score_label(manager.slots[name].spec, primary)
        row["state"] = f"missing: {problem}" if problem else ("loaded" if row["state"] == "loaded" else "not loaded")
        too_big = None if problem else _over_budget(manager, name)
        if too_big:
            row["state"] = f"over budget: {too_big}"
        rows.append(row)
    bases = manager.bases_status()
    manager.close()
    _print(rows, as_json, bases)
    bad = [r["name"] for r in rows if ":" in r["state"]]
    if check and bad:
        from cadre.errors import CadreError

        raise CadreError(f"{len(bad)} of {len(rows)} models have a problem: {', '.join(bad)}")


@verb("ask", group="models")
def ask(prompt: str = typer.Argument(..., help="The request."),
        config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
        model: str = typer.Option("auto", help="auto, router-<kind>-<threshold>, or a model name."),
        max_tokens: int = typer.Option(128, help="Most tokens to generate."),
        memory_budget: str | None = typer.Option(None, help="Budget such as 2GB.")) -> None:
    """Answer one request through the Engine and say which model answered and why."""
    from cadre.config import find_config
    from cadre.runtime.engine import Engine
    from cadre.runtime.manager import ModelManager

    project = find_config(config)
    engine = Engine(project, manager=ModelManager.from_config(project, memory_budget=memory_budget))
    result = engine.chat([{"role": "user", "content": prompt}], model=model, max_tokens=max_tokens)
    typer.echo(f"model:   {result.model}\nreason:  {result.reason}\nlatency: {result.latency_ms:.0f} ms\n")
    typer.echo(result.text)
    engine.close()


@verb("plan", group="models")
def plan(budget: str = typer.Option(..., "--budget", help="Memory for local models, such as 2GB or 512MB."),
         config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
         as_json: bool = typer.Option(False, "--json", help="The plan as one JSON object.")) -> None:
    """Choose the best models that fit a memory budget (by priority and recorded scores) and
    say why each one is in or out. Nothing is loaded."""
    from cadre.config import find_config
    from cadre.runtime.memory import human
    from cadre.runtime.planner import auto_assign_models

    chosen = auto_assign_models(budget, config=find_config(config))
    if as_json:
        typer.echo(json.dumps(chosen.to_dict()))
        return
    typer.echo(f"budget {human(chosen.budget)}: {len(chosen.chosen)} of {len(chosen.chosen) + len(chosen.left_out)} "
               f"models, ~{human(chosen.total_bytes)}")
    for mark, cands in (("+", chosen.chosen), ("-", chosen.left_out)):
        for c in cands:
            typer.echo(f"  {mark} {c.spec.name:<16} {human(c.bytes) if c.bytes else '-':>10}  {c.why}")
    typer.echo(f"rule: {chosen.rule}")


def _problem(spec) -> str | None:
    """Why a model cannot load, found without loading it (None when it looks fine)."""
    from cadre.errors import CadreError
    from cadre.runtime.backends.identity import loads_here

    if not loads_here(spec):
        return None
    from cadre.runtime.backends.local import source_kind

    try:
        source_kind(spec.path)
    except CadreError as exc:
        return str(exc)
    return None


def _over_budget(manager, name: str) -> str | None:
    """A model whose estimate exceeds its device's budget can never load (a pinned one, never serve)."""
    from cadre.runtime.memory import human

    slot = manager.slots[name]
    if slot.device == "remote" or not slot.estimate:
        return None
    budget, need = manager.budget(slot.device), manager.need(slot)  # an adapter's need includes its base
    if need <= budget:
        return None
    role = "pinned primary" if slot.spec.pinned else "model"
    return (f"the {role} needs ~{human(need)}, more than the {slot.device} memory budget "
            f"{human(budget)}; raise --memory-budget")


def _line(r: dict, width: int, indent: str = "") -> str:
    from cadre.runtime.memory import human

    status = r["state"] if len(r["state"]) <= 12 else r["state"].split(":")[0]
    return (f"{indent + r['name']:<{width}} {r['backend']:<8} {r['device']:<7} {status:<12} "
            f"{human(r['estimated_bytes']):>10} {human(r['measured_bytes']):>10}  {r['score']:<24} "
            f"{','.join(r['capabilities'])}")


def _measure(manager, name: str) -> str | None:
    from cadre.errors import CadreError

    try:
        manager.load(name)
        manager.unload(name)
    except CadreError as exc:
        return str(exc)
    return None


def _print(rows: list[dict], as_json: bool, bases: list[dict] = ()) -> None:
    """One line per model; LoRA adapters indented under the one shared base they load on."""
    from cadre.runtime.memory import human

    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    width = max([16] + [len(r["name"]) + 4 for r in rows] + [len(Path(b["base"]).name) + 5 for b in bases])
    header = f"{'NAME':<{width}} {'BACKEND':<8} {'DEVICE':<7} {'STATUS':<12} {'ESTIMATED':>10} {'MEASURED':>10}  {'SCORE':<24} CAPABILITIES"
    typer.echo(header)
    for r in rows:
        if not r.get("base"):
            typer.echo(_line(r, width))
    for b in bases:
        mine = [r for r in rows if r.get("base") == b["base"] and r["device"] == b["device"]]
        state = "loaded" if b["state"] == "loaded" else "not loaded"
        typer.echo(f"{'base ' + Path(b['base']).name:<{width}} {'lora':<8} {b['device']:<7} {state:<12} "
                   f"{human(b['estimated_bytes']):>10} {human(b['measured_bytes']):>10}  "
                   f"shared by {len(mine)} adapter{'s' * (len(mine) != 1)} ({b['base']})")
        for r in mine:
            typer.echo(_line(r, width, "  ↳ "))
    for r in rows:
        if ":" in r["state"]:
            typer.echo(f"  {r['name']}: {r['state']}")
