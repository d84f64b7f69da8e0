"""The Decision: how a request will be answered, decided before any model is held.

A frozen value. `kind` says which later stage (runtime/lease.py, the engine) makes it an
answer:

- `model`: the named, sticky or route-target model answers (`model`);
- `primary`: the primary answers (`fallback`: the route's own target could not);
- `capability`: the best model for `capability` answers `instruction`, else the primary
  (which one is known once it is admitted: a model that fails to load hands over);
- `tool`: a built-in tool that answers by itself (`tool`: solve_math, describe_image);
- `learned`: a learned router's choice (`learned`: its ranking, for failover);
- `tool_loop`: the primary calls cadre's tools (`tool_calling: primary`).
"""
from __future__ import annotations

from dataclasses import dataclass

from cadre.routing.base import RouteChoice

KINDS = ("model", "primary", "capability", "tool", "learned", "tool_loop")


@dataclass(frozen=True)
class Decision:
    kind: str
    reason: str
    model: str | None = None          # who answers, when known before admission
    route: RouteChoice | None = None  # the routing decision (None: a model named, or the tool loop)
    capability: str | None = None
    instruction: str = "{text}"
    tool: str | None = None
    learned: RouteChoice | None = None  # a LearnedChoice
    fallback: bool = False
    sticky: bool = False              # the conversation's model (runtime/sticky.py), not routed anew

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown decision kind {self.kind!r}")
