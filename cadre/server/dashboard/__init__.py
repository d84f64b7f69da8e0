"""The web dashboard at /ui: Models (the Module Manager), Traffic, Playground, Routers,
Specialists. Server-rendered pages with one small script; no build step."""
from __future__ import annotations

from fastapi import FastAPI

from cadre.server.dashboard.traffic import TrafficLog, TrafficMiddleware

OPEN_PREFIX = "/ui"


def install_api(app: FastAPI) -> None:
    """The JSON API a script (or the dashboard) uses, and the traffic recorder; always on."""
    from cadre.server.dashboard.artifacts import artifacts
    from cadre.server.dashboard.models import admin
    from cadre.server.dashboard.views import traffic

    app.state.traffic = TrafficLog()
    app.include_router(admin)
    app.include_router(artifacts)
    app.add_api_route("/v1/dashboard/traffic", traffic, methods=["GET"])
    engine = app.state.engine
    app.add_middleware(TrafficMiddleware, traffic=app.state.traffic, cost_of=lambda m, t: cost_of(engine, m, t))


def install_pages(app: FastAPI) -> None:
    """The HTML views under /ui."""
    from cadre.server.dashboard.views import pages

    app.include_router(pages)


def cost_of(engine, model: str, tokens: int) -> float:
    """What `tokens` cost on a registry model (tools and unknown names cost nothing)."""
    if model not in engine.registry:
        return 0.0
    return round(tokens * engine.registry.get(model).cost_per_1k_tokens / 1000, 8)


def is_page_path(path: str) -> bool:
    """The dashboard's pages and static files (no data; served without the key)."""
    return path == OPEN_PREFIX or path.startswith(OPEN_PREFIX + "/")
