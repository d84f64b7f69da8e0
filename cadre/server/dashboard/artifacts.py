"""What the Routers and Specialists views show, read from disk without loading a model:

- intent routers: each registry router's per-route thresholds (its cadre.json), with the
  project's override;
- learned routers: the validation cost–quality curve and the chosen operating point that
  `cadre router fit-learned` saves in a router folder's cadre.json;
- LoRA specialists: each `report.json` under the runs folders (`cadre specialist run`),
  and a `scoreboard.json` when one exists.

Folders are scanned to a fixed depth with a cap on files, so a big runs/ stays cheap.
"""
from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request

from cadre.checkpoint import METADATA_FILE, find_metadata
from cadre.errors import CadreError

artifacts = APIRouter()
MAX_DEPTH = 4
MAX_FILES = 200
MAX_CURVE_POINTS = 120


def read_json(path: Path) -> dict | None:
    """A JSON object from a file, or None when it is missing or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def find_files(roots, name: str) -> list[Path]:
    """Files called `name` under each root, at most MAX_DEPTH folders down, MAX_FILES in all."""
    found: list[Path] = []
    for root in dict.fromkeys(Path(r).resolve() for r in roots):
        for depth in range(MAX_DEPTH + 1):
            pattern = "/".join(["*"] * depth + [name])
            for path in sorted(root.glob(pattern)) if root.is_dir() else ():
                if path.is_file() and path not in found:
                    found.append(path)
                if len(found) >= MAX_FILES:
                    return found
    return found


def intent_routers(engine) -> list[dict]:
    """Each registry router: kind, per-route thresholds, the project's override and fallbacks."""
    settings, out = engine.config.router, []
    for name in engine.selector.router_models:
        spec = engine.registry.get(name)
        meta = _router_meta(spec.path)
        out.append({"name": name, "kind": meta.get("router_kind") or "nano", "path": spec.path,
                    "labels": meta.get("labels") or sorted(meta.get("thresholds") or {}),
                    "thresholds": meta.get("thresholds") or {}, "threshold_override": settings.threshold,
                    "default_route": settings.default_route, "keyword_fallback": settings.keyword_fallback})
    return out


def _router_meta(folder) -> dict:
    """A folder's cadre.json, or {} when it is missing or broken (the view shows what it can)."""
    try:
        return find_metadata(folder) or {}
    except CadreError:
        return {}


def learned_routers(roots) -> list[dict]:
    """Every learned-router folder under the roots: its curve and operating point."""
    out = []
    for path in find_files(roots, METADATA_FILE):
        meta = _router_meta(path.parent)
        if meta.get("router_kind") != "learned":
            continue
        op = meta.get("operating_point") or {}
        curve = [{"param": p.get("param"), "accuracy": p.get("accuracy"), "cost": p.get("cost")}
                 for p in op.get("validation_curve") or [] if isinstance(p, dict)]
        curve = thin(sorted(curve, key=lambda p: (p["cost"] is None, p["cost"] or 0)))
        out.append({"name": path.parent.name, "path": str(path.parent), "models": meta.get("models") or [],
                    "objective": op.get("objective"), "param": op.get("param"),
                    "val_accuracy": op.get("val_accuracy"), "val_cost": op.get("val_cost"),
                    "target_quality": op.get("target_quality"), "budget": op.get("budget"),
                    "chosen_on": op.get("chosen_on"), "curve": curve})
    return out


def thin(points: list[dict], most: int = MAX_CURVE_POINTS) -> list[dict]:
    """At most `most` points, evenly spaced along the list, keeping both ends (a λ grid
    can hold a thousand points; a chart needs far fewer)."""
    if len(points) <= most:
        return points
    step = (len(points) - 1) / (most - 1)
    return [points[round(i * step)] for i in range(most)]


def specialist_reports(roots) -> list[dict]:
    """Every LoRA specialist report under the roots, with its gate and exit status."""
    out = []
    for path in find_files(roots, "report.json"):
        report = read_json(path)
        if not report or "specialist" not in report or "baseline" not in report:
            continue
        gates = report.get("gates") or {}
        passed = bool(gates.get("passed"))
        out.append({"name": report["specialist"], "task": report.get("task"), "base": report.get("base"),
                    "device": report.get("device"), "local_test": report.get("local_test"),
                    "path": str(path.parent), "baseline": (report.get("baseline") or {}).get("metrics") or {},
                    "finetuned": (report.get("finetuned") or {}).get("metrics") or {},
                    "gates": gates.get("checks") or [], "gate_summary": gates.get("summary"),
                    "exit_status": 0 if passed else 3, "exported": bool(report.get("exported")),
                    "baseline_only": bool(report.get("baseline_only"))})
    return out


def scoreboard(roots) -> dict | None:
    """The first scoreboard.json found (written by `cadre scoreboard`), or None."""
    for path in find_files(roots, "scoreboard.json"):
        data = read_json(path)
        if data is not None:
            return {"path": str(path), **data}
    return None


def runs_roots(state) -> list[Path]:
    """Folders scanned for artifacts: the server's --runs-dir, else runs/ here and beside
    the project file."""
    if state.settings.runs_dirs:
        return [Path(d) for d in state.settings.runs_dirs]
    base = Path(getattr(state.engine.config, "base_dir", ".") or ".")
    return [Path("runs"), base / "runs"]


@artifacts.get("/v1/dashboard/routers")
async def routers(request: Request):
    """Intent routers' thresholds and learned routers' cost–quality curves."""
    state = request.app.state
    roots = runs_roots(state)
    return {"intent": await state.pools.run("route", intent_routers, state.engine),
            "learned": await state.pools.run("route", learned_routers, roots)}


@artifacts.get("/v1/dashboard/specialists")
async def specialists(request: Request):
    """LoRA specialist reports found on disk, and the scoreboard when there is one."""
    state = request.app.state
    roots = runs_roots(state)
    return {"reports": await state.pools.run("route", specialist_reports, roots),
            "scoreboard": await state.pools.run("route", scoreboard, roots),
            "roots": [str(r) for r in roots]}
