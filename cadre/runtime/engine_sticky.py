"""Sticky conversations in the engine: a turn that answers a model's tool calls, or that
belongs to a known session, goes to the model that holds the conversation (the tables
are runtime/sticky.py's)."""
from __future__ import annotations

from cadre.routing.base import RouteChoice
from cadre.runtime.plan import Plan
from cadre.runtime.sticky import UNKNOWN_CALLER


class StickyRoutes:
    """Engine methods for sticky conversations (mixed into Engine)."""

    def _sticky_plan(self, messages, model: str, session: str | None) -> Plan | None:
        """The model that holds this conversation: the one whose tool calls the trailing
        tool results answer, or the session's; None when the turn is routed as usual."""
        found = self.sticky.lookup(messages, session)
        if found is None:
            return None
        self.selector.parse(model)  # an unknown router name is still an error
        name, why = found
        if name == UNKNOWN_CALLER or name not in self.registry:
            name, why = self.primary, f"{why} → primary"
        choice = RouteChoice("sticky", 1.0, {}, why)
        return Plan(name, why, choice, prepared=self._acquire(name, messages, ""))
