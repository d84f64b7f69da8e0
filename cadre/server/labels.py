"""Metric labels from a bounded set only.

A request's `model` string becomes a label only when it is a name the server lists
(registry models count as 'direct'; auto and the listed router names as they are); any
other router name counts under its kind (`router-nano`), anything else as 'other'.
Model and route labels must be names the engine knows, else 'other'. So a client
cannot grow /metrics by sending new names.
"""
from __future__ import annotations

EXTRA_MODELS = ("efficientnet-lite0",)   # the vision tool answers under its encoder's name


class LabelSet:
    """The label values one server may emit, fixed when the app is built."""

    def __init__(self, engine):
        from cadre.runtime.tools import TOOL_SCHEMAS

        self.registry = set(engine.model_names())
        self.routers = set(engine.router_names())
        self.kinds = {n.split("-")[1] for n in self.routers if n.startswith("router-") and n.count("-") >= 2}
        self.models = self.registry | {f"tool:{t}" for t in TOOL_SCHEMAS} | set(EXTRA_MODELS)
        self.routes = set(getattr(engine, "routes", {}) or {}) | {"vision"}

    def requested(self, name: str) -> str:
        """The `requested` label: direct, auto, a listed router name, router-<kind> or other."""
        if name in self.registry:
            return "direct"
        if name in self.routers:
            return name
        kind = name.split("-")[1] if name.startswith("router-") else None
        return f"router-{kind}" if kind in self.kinds else "other"

    def model(self, name: str) -> str:
        return name if name in self.models else "other"

    def route(self, name: str | None) -> str | None:
        if name is None:
            return None
        return name if name in self.routes else "other"
