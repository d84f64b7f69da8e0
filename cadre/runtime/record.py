"""What the engine keeps of each answer once it closes: request counts (per model, per
route, fallbacks), the estimated cost, and the decision log record (the gateway writes it).
Fed by the answer stages; read by `Engine.metrics_snapshot` and /metrics."""
from __future__ import annotations

import threading
from collections import Counter

from cadre.runtime.backends.base import last_user_text


class Recorder:
    """Counts and decision records of one engine."""

    def __init__(self, gateway):
        self.gateway = gateway
        self.counts: Counter = Counter()
        self._lock = threading.Lock()

    def count(self, plan) -> None:
        """One request answered by `plan.model` (and its route)."""
        with self._lock:
            self.counts["requests"] += 1
            self.counts[f"model:{plan.model}"] += 1
            if plan.route is not None:
                self.counts[f"route:{plan.route.name}"] += 1
            if plan.fallback:
                self.counts["fallbacks"] += 1

    def fell_back(self, old: str, new: str) -> None:
        """A streamed answer already counted for `old` was answered by `new` instead."""
        with self._lock:
            self.counts["fallbacks"] += 1
            self.counts[f"model:{old}"] -= 1
            self.counts[f"model:{new}"] += 1

    def record(self, plan, requested, messages, started, usage, status, error=None) -> None:
        """The decision log's record of a routed request (a named model's is not logged)."""
        if plan.route is None:
            return
        if plan.request_id is None:
            plan.request_id = self.gateway.request_id()
        self.gateway.record(plan, requested, last_user_text(messages), started, usage, status, error)

    def answered(self, plan, name: str, attempts, answer=None) -> None:
        """A failover chain's model answered: the plan (and the answer) name it."""
        plan.model, plan.reason = name, plan.route.reason + attempts.note()
        plan.fallback = plan.fallback or bool(attempts.fallbacks)
        if answer is not None:
            plan.cost = self.gateway.estimate_cost(name, None, plan.route)
            answer.rename(plan.model, plan.reason, plan.cost)

    def snapshot(self, manager) -> dict:
        """Loaded models with measured memory, budgets and usage per device, request counts."""
        status = manager.status()
        snap: dict = {"models": {s["name"]: {"loaded": s["state"] == "loaded", "bytes": s["charged_bytes"],
                                             "measured_bytes": s["measured_bytes"],
                                             "estimated_bytes": s["estimated_bytes"], "loads": s["loads"]}
                                 for s in status}}
        for device, used in manager.used_bytes().items():
            snap[f"used_bytes_{device}"] = used
            snap[f"budget_bytes_{device}"] = manager.budget(device)
        with self._lock:
            snap["requests"] = self.counts["requests"]
            snap["fallbacks"] = self.counts["fallbacks"]
            snap["counts"] = dict(self.counts)
        snap.update(self.gateway.counts())
        return snap
