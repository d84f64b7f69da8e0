"""The dashboard's pages and its traffic API.

Each page is a server-rendered shell (Jinja2) that names its view; `dashboard.js` fills it
from the JSON API (`/v1/dashboard/*`, `/v1/route`, `/v1/chat/completions`) and polls it,
so every number on a page is one a script gets from the same endpoints. The pages and
static files carry no data, so they are served without the API key; the page asks for the
key when the API answers 401.
"""
from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cadre.server.dashboard.traffic import recent_decisions
from cadre.server.errors import ApiError

pages = APIRouter()
VIEWS = {"models": "Models", "traffic": "Traffic", "playground": "Playground", "routers": "Routers",
         "specialists": "Specialists"}
STATIC = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
POLL_MS = 2000
_ENV = None


def environment():
    """The Jinja2 environment over the package's templates (autoescaped)."""
    global _ENV
    if _ENV is None:
        from jinja2 import Environment, PackageLoader, select_autoescape

        _ENV = Environment(loader=PackageLoader("cadre.server.dashboard", "templates"),
                           autoescape=select_autoescape(["html"]))
    return _ENV


@pages.get("/ui", include_in_schema=False)
@pages.get("/ui/", include_in_schema=False)
async def home():
    """The dashboard opens on the Models view."""
    return RedirectResponse("/ui/models", status_code=307)


@pages.get("/ui/static/{name}", include_in_schema=False)
async def static(name: str):
    """The dashboard's script and style (a fixed list: nothing else on disk is served)."""
    if name not in STATIC:
        raise ApiError(404, f"no dashboard file {name!r}", None, "not_found")
    body = resources.files("cadre.server.dashboard").joinpath("static", name).read_bytes()
    return Response(body, media_type=STATIC[name], headers={"cache-control": "no-cache"})


@pages.get("/ui/{view}", include_in_schema=False)
async def page(view: str, request: Request):
    """One view of the dashboard."""
    if view not in VIEWS:
        raise ApiError(404, f"no dashboard view {view!r}; views: {', '.join(VIEWS)}", None, "not_found")
    state = request.app.state
    html = environment().get_template(f"{view}.html").render(
        view=view, views=VIEWS, title=VIEWS[view], poll_ms=POLL_MS,
        key_required=bool(state.settings.api_keys))
    return HTMLResponse(html, headers={"cache-control": "no-store"})


async def traffic(request: Request, n: int = Query(50, ge=0, le=1000)):
    """Requests, latency p50/p99 and cost per model and route; engine counters; the last
    `n` routed requests (newest first)."""
    state = request.app.state
    snapshot = await state.pools.run("route", state.engine.metrics_snapshot)
    counts = snapshot.get("counts") or {}
    return {**state.traffic.summary(), "recent": recent_decisions(state, n),
            "engine": {"requests": snapshot.get("requests", 0), "fallbacks": snapshot.get("fallbacks", 0),
                       "requests_per_model": {k[6:]: v for k, v in counts.items() if k.startswith("model:")},
                       "requests_per_route": {k[6:]: v for k, v in counts.items() if k.startswith("route:")}},
            "cooldowns": snapshot.get("cooldowns") or {}}
