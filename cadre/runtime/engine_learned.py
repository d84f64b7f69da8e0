"""The engine's learned routes: an intent route handed to a learned router, the failover
chain that answers, and the decision log record (the gateway does the work)."""
from __future__ import annotations

import time

from cadre.routing.base import RouteChoice
from cadre.runtime.backends.base import last_user_text
from cadre.runtime.errors import BackendError
from cadre.runtime.gateway.learned import LearnedChoice
from cadre.runtime.plan import Plan
from cadre.runtime.tools import Prepared


class LearnedRoutes:
    """Engine methods for learned routes (mixed into Engine)."""

    def _compose(self, choice: RouteChoice, router_name: str, text: str) -> LearnedChoice:
        """An intent route handed to a learned router, which picks among its models."""
        with self.manager.use(router_name, return_to_primary=False) as backend:
            learned = self.gateway.choose(router_name, backend.router, text, None)
        learned.reason = f"{choice.reason} → {router_name}: {learned.reason}"
        return learned

    def _learned_plan(self, choice: LearnedChoice, messages) -> Plan:
        """The learned router's model answers; the next ones in its ranking take over on failure."""
        plan = Plan(choice.name, choice.reason, choice, request_id=self.gateway.request_id())
        try:
            chain = self.gateway.chain(choice, lambda name, attempts: self._answered(plan, name, attempts))
        except BackendError as exc:
            self._record(plan, "auto", messages, time.perf_counter(), None, "error", str(exc))
            raise
        plan.chain, plan.model, plan.fallback = chain, chain.held, bool(chain.attempts.fallbacks)
        plan.reason = choice.reason + chain.attempts.note() + (
            f" → {chain.held}" if chain.attempts.fallbacks else "")
        plan.prepared = Prepared(chain.held, chain, list(messages), "", chain.release)
        return plan

    def _answered(self, plan: Plan, name: str, attempts, handle=None) -> None:
        plan.model, plan.reason = name, plan.route.reason + attempts.note()
        plan.fallback = plan.fallback or bool(attempts.fallbacks)
        if handle is not None:
            plan.cost = self.gateway.estimate_cost(name, None, plan.route)
            handle.rename(plan.model, plan.reason, plan.cost)

    def _record(self, plan: Plan, requested, messages, started, usage, status, error=None) -> None:
        if plan.route is None:
            return
        if plan.request_id is None:
            plan.request_id = self.gateway.request_id()
        self.gateway.record(plan, requested, last_user_text(messages), started, usage, status, error)
