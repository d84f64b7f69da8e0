"""The Module Manager's API: every registry model with its memory against the budget
(`GET /v1/dashboard/models`), and loading or unloading one without a restart
(`POST /v1/models/{id}/load`, `POST /v1/models/{id}/unload`).

These sit behind the same API-key guard as every other /v1 endpoint. Only the manager
loads and unloads; these endpoints just ask it, in a worker thread.
"""
from __future__ import annotations

from fastapi import APIRouter, Request

from cadre.server.errors import ApiError, to_api_error

admin = APIRouter()


def model_rows(engine) -> list[dict]:
    """The manager's status of every model, plus keep-alive left and why it can't unload."""
    rows = []
    for row in engine.manager.status():
        row = dict(row, primary=row["name"] == engine.primary)
        row["keep_alive_left_s"] = _keep_alive_left(row)
        row["unload_blocked"] = _unload_blocked(row)
        rows.append(row)
    return rows


def _keep_alive_left(row: dict) -> float | None:
    """Seconds until an idle model unloads; None when it never will (pinned, unloaded, busy)."""
    if row["state"] != "loaded" or row["pinned"] or row["in_use"] or row.get("idle_s") is None:
        return None
    return round(max(0.0, row["keep_alive_s"] - row["idle_s"]), 1)


def _unload_blocked(row: dict) -> str | None:
    """Why Unload would be refused, in words (None when it would be done)."""
    if row["pinned"]:
        kind = "the pinned primary" if row["primary"] else "pinned"
        return f"{kind}: the manager keeps it loaded (it is evicted only to make room)"
    if row["state"] != "loaded":
        return "not loaded"
    if row["in_use"]:
        return f"in use by {row['in_use']} request{'s' * (row['in_use'] > 1)}"
    return None


def memory(engine) -> dict:
    """Used and budget bytes per device (remote models take no local memory)."""
    manager = engine.manager
    return {device: {"used_bytes": used, "budget_bytes": manager.budget(device)}
            for device, used in manager.used_bytes().items()}


def models_payload(engine) -> dict:
    """What the Models view shows: rows, memory per device, the primary."""
    return {"models": model_rows(engine), "memory": memory(engine), "primary": engine.primary,
            "bases": engine.manager.bases_status()}  # shared LoRA bases, with the adapters on each


async def _run(state, fn, *args):
    try:
        return await state.pools.run("route", fn, *args)
    except Exception as exc:
        raise to_api_error(exc) from None


def _row(engine, model_id: str) -> dict:
    for row in model_rows(engine):
        if row["name"] == model_id:
            return row
    raise ApiError(404, f"unknown model {model_id!r}; models: {', '.join(engine.model_names())}",
                   "model", "model_not_found")


@admin.get("/v1/dashboard/models")
async def dashboard_models(request: Request):
    """Every registry model: backend, capabilities, state, memory, loads, keep-alive."""
    state = request.app.state
    return await _run(state, models_payload, state.engine)


@admin.post("/v1/models/{model_id:path}/load")
async def load_model(model_id: str, request: Request):
    """Load a model now; a load over the budget is the manager's one-line error (400)."""
    state = request.app.state
    _row(state.engine, model_id)
    await _run(state, state.engine.manager.load, model_id)
    return _row(state.engine, model_id)


@admin.post("/v1/models/{model_id:path}/unload")
async def unload_model(model_id: str, request: Request):
    """Unload an idle model; the pinned primary and models in use are refused (409)."""
    state = request.app.state
    row = _row(state.engine, model_id)
    if row["pinned"] or row["in_use"]:
        raise ApiError(409, f"model {model_id!r} cannot be unloaded: {row['unload_blocked']}", "model",
                       "model_pinned" if row["pinned"] else "model_in_use")
    done = await _run(state, state.engine.manager.unload, model_id)
    if not done:
        raise ApiError(409, f"model {model_id!r} cannot be unloaded: a request started using it",
                       "model", "model_in_use")
    return _row(state.engine, model_id)
