"""Prometheus metrics for one app: its own CollectorRegistry, so two apps in one
process (tests, benchmarks) never share counters.

Requests and latency are recorded by `MetricsMiddleware`; routes by the endpoints;
loaded models and memory are read from `engine.metrics_snapshot()` at scrape time.
"""
from __future__ import annotations

import os
import time

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/route", "/health",
             "/metrics")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ServerMetrics:
    """The app's metrics; `render()` returns the Prometheus text exposition."""

    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("cadre_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=r)
        self.latency = Histogram("cadre_request_latency_seconds", "Request latency to the last byte",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.answers = Counter("cadre_model_requests", "Generation requests by the model that answered "
                               "and the name asked for (auto, router-<kind>-<t>, or direct)",
                               ["model", "requested"], registry=r)
        self.decisions = Counter("cadre_route_decisions", "Routing decisions by route and router name",
                                 ["route", "requested"], registry=r)
        self.route_batches = Histogram("cadre_route_batch_size", "/v1/route requests scored by one router call",
                                       buckets=(1, 2, 4, 8, 16, 32, 64), registry=r)
        # multiprocess_mode says how `serve --workers N` combines the workers' values.
        self.in_flight = Gauge("cadre_requests_in_flight", "Requests being answered", registry=r,
                               multiprocess_mode="livesum")
        self.loaded = Gauge("cadre_model_loaded", "1 when the model is loaded", ["model"], registry=r,
                            multiprocess_mode="livemax")
        self.model_bytes = Gauge("cadre_model_memory_bytes", "Measured memory of a loaded model",
                                 ["model"], registry=r, multiprocess_mode="livesum")
        self.memory = Gauge("cadre_memory_bytes", "Engine memory: used and budget bytes per device",
                            ["kind"], registry=r, multiprocess_mode="livesum")
        self.engine_counts = Gauge("cadre_engine_count", "Engine counters (requests, fallbacks)",
                                   ["kind"], registry=r, multiprocess_mode="livesum")

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def answered(self, model: str, requested: str, route: str | None) -> None:
        """Count one generation request (and its routing decision, if it was routed)."""
        self.answers.labels(model, requested).inc()
        if route is not None:
            self.decisions.labels(route, requested).inc()

    def decided(self, route: str, requested: str) -> None:
        """Count one routing decision made without generation (/v1/route)."""
        self.decisions.labels(route, requested).inc()

    def render(self, snapshot: dict | None) -> bytes:
        """Refresh the engine gauges from a snapshot, then expose everything."""
        if snapshot:
            self._engine_gauges(snapshot)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # serve --workers N: every worker's values
            from prometheus_client import multiprocess

            combined = CollectorRegistry()
            multiprocess.MultiProcessCollector(combined)
            return generate_latest(combined)
        return generate_latest(self.registry)

    def _engine_gauges(self, snapshot: dict) -> None:
        """Copy loaded models and memory from `engine.metrics_snapshot()`.

        Models that are no longer loaded drop to 0 rather than vanishing, so a
        dashboard sees evictions.
        """
        models = snapshot.get("models") or {}
        for name in list(self._known_models()):
            if name not in models:
                self.loaded.labels(name).set(0)
                self.model_bytes.labels(name).set(0)
        for name, info in models.items():
            info = info if isinstance(info, dict) else {"bytes": info}
            self.loaded.labels(name).set(1 if info.get("loaded", True) else 0)
            self.model_bytes.labels(name).set(float(info.get("bytes") or 0))
        for key, value in snapshot.items():
            if key == "models" or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            gauge = self.memory if "bytes" in key else self.engine_counts
            gauge.labels(key).set(float(value))

    def _known_models(self):
        for metric in self.loaded.collect():
            for sample in metric.samples:
                yield sample.labels["model"]


def endpoint_label(path: str) -> str:
    """A bounded label set: known endpoints by path, everything else 'other'."""
    if path.startswith("/v1/models/"):
        return "/v1/models/{id}"
    return path if path in ENDPOINTS else "other"


class MetricsMiddleware:
    """Counts every request (401s and 413s included) with its status and time to last byte."""

    def __init__(self, app, metrics: ServerMetrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), 500

        async def recording_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.observe(endpoint_label(scope["path"]), status, time.perf_counter() - start)
