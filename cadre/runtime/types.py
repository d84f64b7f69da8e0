"""Types shared by the engine and the server: what one request returns.

The server (cadre/server) consumes exactly these; the engine (cadre/runtime/engine.py)
produces them. Messages and tool calls use OpenAI's chat format as plain dicts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cadre.routing.base import RouteChoice


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class EngineResult:
    """One answered request: the text, who answered it, and why."""

    text: str
    model: str                      # registry name of the model (or tool) that answered
    reason: str                     # one readable line: the route and why it was taken
    route: RouteChoice | None = None
    latency_ms: float = 0.0
    usage: Usage = field(default_factory=Usage)
    tool_calls: list[dict] = field(default_factory=list)  # OpenAI-format calls left for the client
    finish_reason: str = "stop"     # "stop" | "length" | "tool_calls"
    request_id: str | None = None   # the decision log's id of a routed request
    cost: float | None = None       # estimated cost of this call
    feedback_token: str | None = None  # what /v1/feedback on this request must carry

    def __str__(self) -> str:
        """The answer's text, so `print(engine.generate(...))` prints the answer."""
        return self.text
