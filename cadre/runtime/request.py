"""A chat request as one value: what the client asked, before anything is decided.

`ChatRequest` carries the messages, the requested model name (`auto`, `router-…` or a
registry model), the sampling the client set (`Sampling`: unset fields stay None, so an
upstream never gets them and a local model uses its defaults), the client's other fields
(tools, tool_choice, response_format, seed, ...), the session key and the cancel flag.
It is what `decide()` reads (runtime/decide/) and what the later stages pass on.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from cadre.errors import CadreError
from cadre.runtime.backends.base import last_user_text, local_sampling


@dataclass(frozen=True)
class Sampling:
    """The sampling fields a client set (None: left to the model)."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None

    def triple(self) -> tuple:
        """(max_tokens, temperature, top_p), for a backend's positional arguments."""
        return self.max_tokens, self.temperature, self.top_p

    def set_fields(self) -> dict:
        """Only the fields the client set, by name (what an upstream is sent)."""
        return {k: v for k, v in zip(("max_tokens", "temperature", "top_p"), self.triple()) if v is not None}

    def local(self, limit: int | None = None) -> Sampling:
        """A local model's sampling: its defaults for what is unset (greedy, 256 tokens);
        `limit` (the client's max_completion_tokens) stands in for an unset max_tokens."""
        return Sampling(*local_sampling(self.max_tokens or limit, self.temperature, self.top_p))


@dataclass(frozen=True, eq=False)
class ChatRequest:
    """One chat request, as the client sent it."""

    messages: list
    model: str = "auto"
    sampling: Sampling = field(default_factory=Sampling)
    fields: dict = field(default_factory=dict)   # client fields: tools, tool_choice, response_format, ...
    session: str | None = None
    cancel: threading.Event | None = None

    @classmethod
    def of(cls, messages, model: str = "auto", tools=None, tool_choice=None, max_tokens=None, temperature=None,
           top_p=None, session: str | None = None, cancel: threading.Event | None = None, **fields) -> ChatRequest:
        """A request from `Engine.chat`'s keywords: tools and tool_choice join the fields
        (tool_choice only with tools), unset fields are dropped."""
        if not isinstance(model, str) or not model:
            raise CadreError("model must be a name: auto, router-<kind>-<threshold> or a registry model")
        fields = {**fields, **({"tools": tools} if tools else {}),
                  **({"tool_choice": tool_choice} if tool_choice is not None and tools else {})}
        return cls(messages, model, Sampling(max_tokens, temperature, top_p),
                   {k: v for k, v in fields.items() if v is not None}, session, cancel)

    @property
    def tools(self):
        return self.fields.get("tools")

    def text(self) -> str:
        """The last user turn's text (what routing reads)."""
        return last_user_text(self.messages)
