"""Types shared by the engine and the server: what one request returns.

The server (cadre/server) consumes exactly these; the engine (cadre/runtime/engine.py)
produces them. Messages and tool calls use OpenAI's chat format as plain dicts.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

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


@dataclass
class StreamHandle:
    """A streamed answer: model and reason are known before the first delta.

    Iterate `deltas` for text pieces; `usage`/`finish_reason` are final once it is
    exhausted. `cancel()` (a client that disconnected) stops generation at the next token.

    When the model's backend can be awaited (the `openai` backend), `astream()` (an async
    iterator of deltas) and `awhole()` (awaits the whole text) answer on the caller's event
    loop instead; use one of `deltas`, `astream()` or `awhole()`, once. `proxy` (the same
    backends) sends the client's whole request upstream and gives back the upstream's JSON.
    """

    model: str
    reason: str
    deltas: Iterator[str]
    route: RouteChoice | None = None
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"
    cancelled: threading.Event = field(default_factory=threading.Event)
    astream: Callable | None = None
    awhole: Callable | None = None
    request_id: str | None = None
    cost: float | None = None
    error: str | None = None  # why the answer failed, for the decision log
    feedback_token: str | None = None
    proxy: object = None      # runtime/proxy.Proxy: the request as it came, to an OpenAI-compatible upstream
    logprobs: list | None = None  # a local model's logprobs.content, when the client asked

    def cancel(self) -> None:
        self.cancelled.set()
