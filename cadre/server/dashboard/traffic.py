"""Where traffic went: a bounded in-memory record of recent routed requests.

`TrafficMiddleware` opens a per-request note (a ContextVar), the endpoints fill it through
`note_answer` / `note_route` (who answered, which route, why), and when the last byte has
gone out the middleware records latency, status, tokens and cost. Everything is bounded:
the last `size` decisions, `samples` latencies per model and route, `buckets` minutes of
cost. `recent_decisions` is the one place the dashboard reads decisions from, so it can
later read the gateway's decision log instead.
"""
from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from contextvars import ContextVar

RECORDED_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/route"})
_NOTE: ContextVar[dict | None] = ContextVar("cadre_traffic_note", default=None)


def note_answer(answer, requested: str) -> None:
    """Remember who answers this request (an EngineResult or an Answer)."""
    note = _NOTE.get()
    if note is not None:
        note.update(answer=answer, requested=requested)


def note_route(choice, requested: str) -> None:
    """Remember the routing decision of a /v1/route request (no model answers)."""
    note = _NOTE.get()
    if note is not None:
        note.update(choice=choice, requested=requested)


def percentile(values, q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of a sequence; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class TrafficLog:
    """Recent decisions, latency samples per model and route, and cost per minute."""

    def __init__(self, size: int = 200, samples: int = 1000, bucket_s: int = 60, buckets: int = 60):
        self.bucket_s, self._lock = bucket_s, threading.Lock()
        self.recent: deque[dict] = deque(maxlen=size)
        self._latency = {"model": defaultdict(lambda: deque(maxlen=samples)),
                         "route": defaultdict(lambda: deque(maxlen=samples))}
        self._totals = {"model": defaultdict(lambda: {"requests": 0, "errors": 0, "cost": 0.0, "tokens": 0}),
                        "route": defaultdict(lambda: {"requests": 0, "errors": 0, "cost": 0.0, "tokens": 0})}
        self._cost: deque[tuple[int, dict]] = deque(maxlen=buckets)

    def record(self, entry: dict) -> None:
        """Add one finished request (keys: time, endpoint, status, model, route, reason,
        latency_ms, tokens, cost)."""
        with self._lock:
            self.recent.append(entry)
            for kind in ("model", "route"):
                name = entry.get(kind)
                if not name:
                    continue
                totals = self._totals[kind][name]
                totals["requests"] += 1
                totals["errors"] += entry["status"] >= 400
                totals["cost"] += entry.get("cost") or 0.0
                totals["tokens"] += entry.get("tokens") or 0
                self._latency[kind][name].append(entry["latency_ms"])
            if entry.get("model"):
                self._add_cost(entry["time"], entry["model"], entry.get("cost") or 0.0)

    def _add_cost(self, when: float, model: str, cost: float) -> None:
        start = int(when // self.bucket_s * self.bucket_s)
        if not self._cost or self._cost[-1][0] != start:
            self._cost.append((start, defaultdict(float)))
        self._cost[-1][1][model] += cost

    def summary(self) -> dict:
        """Per model and per route: requests, errors, tokens, cost, latency p50/p99 (ms)."""
        with self._lock:
            out = {}
            for kind in ("model", "route"):
                out[kind] = {name: {**totals, "cost": round(totals["cost"], 8),
                                    "p50_ms": _round(percentile(self._latency[kind][name], 50)),
                                    "p99_ms": _round(percentile(self._latency[kind][name], 99))}
                             for name, totals in self._totals[kind].items()}
            out["cost_per_minute"] = [{"start": start, "cost": {m: round(c, 8) for m, c in costs.items()}}
                                      for start, costs in self._cost]
            return out

    def last(self, n: int) -> list[dict]:
        """The latest `n` decisions, newest first."""
        with self._lock:
            return list(reversed(list(self.recent)[-n:])) if n > 0 else []


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def recent_decisions(state, n: int = 50) -> list[dict]:
    """The last `n` routed requests, newest first: the in-memory recorder's entries, with
    the feedback that the gateway's decision log holds for them; after a restart (nothing
    recorded yet) the log's own last decisions."""
    from cadre.runtime.gateway.logfiles import tail

    entries = state.traffic.last(n)
    log = getattr(getattr(state.engine, "gateway", None), "log", None)
    if log is None:
        return entries
    logged = tail(getattr(log, "base", log.path), max(n, 500))  # every shard of the log
    if not entries:
        return [_from_log(r) for r in logged[:n]]
    feedback = {r.get("id"): r.get("feedback") for r in logged}
    return [{**e, "feedback": feedback.get(e.get("id"), e.get("feedback"))} for e in entries]


def _from_log(record: dict) -> dict:
    tokens = record.get("tokens") or {}
    return {"time": record.get("time"), "endpoint": "/v1/chat/completions", "status": record.get("status"),
            "requested": record.get("requested"), "model": record.get("model"), "route": record.get("route"),
            "reason": record.get("reason", ""), "latency_ms": record.get("latency_ms"),
            "tokens": (tokens.get("prompt") or 0) + (tokens.get("completion") or 0), "cost": record.get("cost"),
            "feedback": record.get("feedback"), "id": record.get("id")}


class TrafficMiddleware:
    """Records every chat, completion and route request once its last byte is sent."""

    def __init__(self, app, traffic: TrafficLog, cost_of):
        self.app, self.traffic, self.cost_of = app, traffic, cost_of

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in RECORDED_PATHS or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        started, status, note = time.perf_counter(), 500, {}

        async def recording_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = _NOTE.set(note)
        try:
            await self.app(scope, receive, recording_send)
        finally:
            _NOTE.reset(token)
            if note:
                self.traffic.record(self._entry(scope["path"], status, note, time.perf_counter() - started))

    def _entry(self, endpoint: str, status: int, note: dict, seconds: float) -> dict:
        answer, choice = note.get("answer"), note.get("choice")
        if answer is not None:
            choice = answer.route
        usage = getattr(answer, "usage", None)
        tokens = usage.prompt_tokens + usage.completion_tokens if usage is not None else 0
        model = getattr(answer, "model", None)
        reason = answer.reason if answer is not None else (choice.reason if choice is not None else "")
        return {"time": time.time(), "endpoint": endpoint, "status": status, "requested": note.get("requested"),
                "model": model, "route": choice.name if choice is not None else None, "reason": reason,
                "latency_ms": round(seconds * 1000, 2), "tokens": tokens,
                "cost": self.cost_of(model, tokens) if model else 0.0, "feedback": None,
                "id": getattr(answer, "request_id", None)}
