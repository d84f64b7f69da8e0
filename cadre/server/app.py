"""The OpenAI-compatible HTTP API in front of the engine.

`create_app(engine, settings)` builds a FastAPI app that keeps everything it needs on
`app.state` (no module-level server state), so several apps can live in one process.
The engine is synchronous; every call into it runs in a worker thread, so the event
loop keeps answering /health, /metrics and other requests while models generate.
"""
from __future__ import annotations

import logging
import os
import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from cadre.server import embeddings, generation, responses
from cadre.server.dashboard import install_api, install_pages
from cadre.server.hotpath import HotPathMiddleware, InFlight
from cadre.server.errors import (
    ApiError,
    install_error_handlers,
    to_api_error,
)
from cadre.server.jsonbody import parse_body
from cadre.server.labels import LabelSet
from cadre.server.feedback import feedback_routes
from cadre.server.limits import ThreadPools, generation_threads
from cadre.server.metrics import MetricsMiddleware, ServerMetrics
from cadre.server.middleware import GuardMiddleware
from cadre.server.origin_guard import OriginGuard
from cadre.server.route_batch import RouteBatcher
from cadre.server.route_endpoint import RouteEndpoint
from cadre.server.schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    ModelCard,
    ModelList,
)
from cadre.server.settings import ServerSettings

log = logging.getLogger("cadre.server")
routes = APIRouter()


def create_app(engine, settings: ServerSettings | None = None) -> FastAPI:
    """Build the app for one engine; all state lives on `app.state`."""
    settings = settings or ServerSettings()
    # FastAPI's native OpenTelemetry is off: cadre has its own /metrics, and the
    # telemetry layer cost ~5% of the event loop per request.
    app = FastAPI(title="cadre", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False})
    app.state.engine = engine
    app.state.settings = settings
    app.state.metrics = ServerMetrics()
    app.state.labels = LabelSet(engine)
    app.state.pools = ThreadPools(settings.route_threads, generation_threads(engine))
    app.state.route_batcher = RouteBatcher(engine, app.state.pools, inline=settings.route_inline,
                                           sizes=app.state.metrics.route_batches)
    app.state.in_flight = InFlight()
    app.state.started = time.time()
    install_error_handlers(app)
    app.include_router(routes)
    app.include_router(embeddings.routes)
    app.include_router(responses.routes)
    app.include_router(feedback_routes)
    app.add_middleware(RouteEndpoint, state=app.state)  # POST /v1/route, below every cadre middleware
    install_api(app)  # admin, dashboard JSON and the traffic recorder (just outside RouteEndpoint)
    if settings.dashboard:
        install_pages(app)
    # Starlette wraps in reverse order: metrics sees everything, CORS answers preflights
    # before the key check, and the guard runs closest to the endpoints.
    app.add_middleware(GuardMiddleware, api_keys=settings.api_keys, max_bytes=settings.max_request_bytes,
                       body_timeout=settings.body_timeout)
    if settings.cors_origins:
        from cadre.server.cors import JsonCORSMiddleware

        app.add_middleware(JsonCORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "OPTIONS"],
                           allow_headers=["authorization", "content-type"],
                           expose_headers=["x-cadre-route", "x-cadre-overhead-ms", "x-cadre-load-ms", "x-cadre-cost",
                                           "x-cadre-request-id", "x-cadre-feedback-token", "retry-after"])
    # Foreign Host, cross-origin writes and non-JSON bodies are refused before CORS or the key.
    app.add_middleware(OriginGuard, bind_host=settings.bind_host, allowed_hosts=settings.allowed_hosts,
                       cors_origins=settings.cors_origins)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    # Outermost: refuses past max_in_flight before any work, and times everything.
    app.add_middleware(HotPathMiddleware, max_in_flight=settings.max_in_flight, counter=app.state.in_flight)
    return app


async def call_engine(state, fn, *args, **kwargs):
    """Run a quick synchronous engine call (routing, listing) in a worker thread; its
    errors become ApiErrors."""
    try:
        if state.settings.route_inline:
            return fn(*args, **kwargs)
        return await state.pools.run("route", fn, *args, **kwargs)
    except Exception as exc:
        raise to_api_error(exc) from None


@routes.post("/v1/chat/completions")
async def chat_completions(request: Request):
    """OpenAI chat completions, streamed (SSE) or whole; `model="auto"` routes."""
    body = await parse_body(request, ChatCompletionRequest)
    return await generation.chat(request, body)


@routes.post("/v1/completions")
async def completions(request: Request):
    """OpenAI text completions: one prompt, streamed or whole."""
    body = await parse_body(request, CompletionRequest)
    return await generation.complete(request, body)


@routes.get("/v1/models")
async def models(request: Request):
    """Every registry model, then the virtual routing models (auto, router-<kind>-<t>)."""
    state = request.app.state
    cards = [ModelCard(id=name, created=int(state.started), owned_by="cadre") for name in _model_ids(state)]
    return ModelList(data=cards).model_dump()


@routes.get("/v1/models/{model_id:path}")
async def model(model_id: str, request: Request):
    """One model card; an unknown name is 404."""
    state = request.app.state
    if model_id not in _model_ids(state):
        raise ApiError(404, f"unknown model {model_id!r}", "model", "model_not_found")
    return ModelCard(id=model_id, created=int(state.started), owned_by="cadre").model_dump()


def _model_ids(state) -> list[str]:
    """Registry names, then virtual names, then every other name a response can carry
    (tool:<name>, the vision encoder) and the embedding model, without duplicates."""
    extra = getattr(state.engine, "answer_names", lambda: [])()
    names = [*state.engine.model_names(), *state.engine.router_names(), *extra, embeddings.EMBEDDING_MODEL]
    return list(dict.fromkeys(n for n in names if n))


@routes.get("/health")
async def health(request: Request):
    """Liveness: answers as long as the event loop does (never touches the models)."""
    state = request.app.state
    return {"status": "ok", "models": len(state.engine.model_names()),
            "uptime_s": round(time.time() - state.started, 1), "pid": os.getpid()}


@routes.get("/metrics")
async def metrics(request: Request):
    """Prometheus exposition: requests, latency, routes, loaded models and memory."""
    state = request.app.state
    try:
        snapshot = await state.pools.run("route", state.engine.metrics_snapshot)
    except Exception:
        log.exception("metrics_snapshot failed")
        snapshot = None
    return Response(state.metrics.render(snapshot), media_type="text/plain; version=0.0.4")
