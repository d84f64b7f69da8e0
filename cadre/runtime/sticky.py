"""Sticky conversations: an agent's tool loop stays on the model that called the tools.

Routing by the last user message would send a turn that carries tool results anywhere
(a math-looking question to sympy, say), away from the model that holds the conversation.
So the engine remembers which model answered with which tool-call ids, and a turn whose
trailing messages are tool results goes back to that model. An optional session key (the
`x-cadre-session` header) keeps a whole conversation on the
model its first turn was routed to. Both tables are bounded (least recently used out).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

UNKNOWN_CALLER = "unknown"


class _Bounded:
    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def put(self, key: str, value: str) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def get(self, key: str) -> str | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value


def answered_call_ids(messages: list[dict]) -> list[str]:
    """The tool-call ids that the conversation's trailing tool results answer."""
    ids = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        if message.get("tool_call_id"):
            ids.append(message["tool_call_id"])
    return ids


class StickyTable:
    """Tool-call id → model, and session key → model, each bounded."""

    def __init__(self, calls: int = 65536, sessions: int = 16384):
        self.calls, self.sessions = _Bounded(calls), _Bounded(sessions)

    def remember_calls(self, model: str, ids) -> None:
        for call_id in ids:
            if call_id:
                self.calls.put(call_id, model)

    def remember_session(self, key: str | None, model: str) -> None:
        if key:
            self.sessions.put(key, model)

    def lookup(self, messages: list[dict], session: str | None) -> tuple[str, str] | None:
        """(model, why) for a turn that must stay where it is, or None to route it.
        A tool result whose caller is not known gives (UNKNOWN_CALLER, why)."""
        ids = answered_call_ids(messages)
        for call_id in ids:
            model = self.calls.get(call_id)
            if model is not None:
                return model, f"sticky: tool result for call {call_id} made by {model}"
        if session:
            model = self.sessions.get(session)
            if model is not None:
                return model, f"sticky: session {session[:40]} stays on {model}"
        if ids:
            return UNKNOWN_CALLER, f"sticky: tool result for call {ids[0]} by a model not remembered"
        return None
