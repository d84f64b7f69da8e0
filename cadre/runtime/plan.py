"""How one request will be answered: the Plan the engine makes before anything runs."""
from __future__ import annotations

from dataclasses import dataclass, field

from cadre.routing.base import RouteChoice
from cadre.runtime.tools import Prepared
from cadre.runtime.types import Usage


@dataclass
class Plan:
    """How one request is answered: a ready text, or a model to stream from."""

    model: str
    reason: str
    route: RouteChoice | None = None
    text: str | None = None
    prepared: Prepared | None = None
    tool_calls: list[dict] = field(default_factory=list)
    finish_reason: str = "stop"
    request_id: str | None = None
    chain: object = None           # the FailoverBackend of a learned route
    cost: float | None = None
    fields: dict = field(default_factory=dict)      # client fields the backend acts on natively
    client_tools: tuple | None = None               # (tools, tool_choice) offered in a local prompt
    usage: Usage = field(default_factory=Usage)
    fallback: bool = False      # the route's own model or tool did not answer: the primary (or next) did
    limit: int | None = None    # the client's max_completion_tokens (a local model's max_tokens)
