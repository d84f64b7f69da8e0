"""What one answer holds: the model it was admitted to, released once however the answer
ends (read to the end, failed, cancelled, or dropped unread), then its record written once.

A fallback to the primary releases the specialist first, then holds the primary (`swap`).
Releasing may restore a displaced pinned model, which loads it: on the event loop that runs
in a worker thread (`arelease`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable


class Lease:
    """The plan being answered, its model's slot, and the answer's closing record."""

    def __init__(self, plan, manager, on_finish: Callable[[], None] = lambda: None):
        self.plan, self.manager, self.on_finish = plan, manager, on_finish
        self._lock = threading.Lock()
        self._released = self._finished = False

    def release(self) -> None:
        """Give the current model back (once)."""
        with self._lock:
            if self._released or self.plan.prepared is None:
                return
            self._released = True
        self.plan.prepared.release()
        self.manager.restore_pinned()

    def swap(self, plan) -> None:
        """Another plan answers now (the fallback); the old model must be released already."""
        self.release()
        with self._lock:
            self.plan, self._released = plan, False

    def finish(self) -> None:
        """Release, then write the answer's record (once)."""
        self.release()
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self.on_finish()

    async def arelease(self) -> None:
        await self._off_loop(self.release)

    async def afinish(self) -> None:
        await self._off_loop(self.finish)

    async def _off_loop(self, fn) -> None:
        import anyio

        if any(slot.displaced for slot in self.manager.slots.values()):
            with anyio.CancelScope(shield=True):  # runs even when the request was cancelled
                await anyio.to_thread.run_sync(fn)
        else:
            fn()

    def __call__(self) -> None:
        """A weakref finalizer: an answer dropped unread still gives its model back."""
        self.finish()


class Leaser:
    """Turns a Decision into a Plan holding its model (admitted to the model's queue,
    loaded if need be): a model that cannot serve hands over to the primary, a learned
    route gets its failover chain (runtime/gateway/failover.py: cool-downs, next in ranking)."""

    def __init__(self, registry, manager, toolbox, gateway, recorder, images):
        self.registry, self.manager, self.toolbox, self.gateway = registry, manager, toolbox, gateway
        self.recorder, self.images = recorder, images
        self.primary = registry.primary().name

    def plan(self, decision, messages, text: str, image, tool_loop, sampling, cancel):
        """The plan of a decision (a tool that answers by itself runs here)."""
        from cadre.runtime.plan import Plan
        from cadre.runtime.tool_answers import ANSWERING_TOOLS

        kind = decision.kind
        if kind == "model":
            return Plan(decision.model, decision.reason, decision.route, prepared=self.acquire(decision.model, messages))
        if kind == "primary":
            return self.primary_plan(decision.route, messages, decision.reason, decision.fallback)
        if kind == "capability":
            return self.capability_plan(decision.route, messages, decision.capability, decision.instruction,
                                        decision.reason)
        if kind == "learned":
            return self.learned_plan(decision.learned, messages)
        if kind == "tool":
            return ANSWERING_TOOLS[decision.tool](self, decision, messages, text, image)
        return tool_loop.run(messages, sampling, cancel)

    def acquire(self, name: str, messages, note: str = ""):
        from cadre.runtime.tools import Prepared

        backend = self.manager.acquire(name)
        return Prepared(name, backend, list(messages), note, lambda: self.manager.release(name))

    def release(self, prepared) -> None:
        prepared.release()
        self.manager.restore_pinned()

    def primary_plan(self, choice, messages, reason: str, fallback: bool = True):
        from cadre.runtime.plan import Plan

        return Plan(self.primary, reason, choice, prepared=self.acquire(self.primary, messages), fallback=fallback)

    def switch_to_primary(self, plan, messages, why: str):
        self.release(plan.prepared)
        return self.primary_plan(plan.route, messages, f"{plan.reason}; {why} → primary")

    def capability_plan(self, choice, messages, capability: str, instruction: str, reason: str):
        """The best model for a capability; the primary when none can serve."""
        from cadre.runtime.backends.base import last_user_text
        from cadre.runtime.errors import BackendError, BudgetError, Overloaded
        from cadre.runtime.plan import Plan

        try:
            prepared = self.toolbox.prepare(capability, last_user_text(messages), instruction)
        except (BackendError, BudgetError, Overloaded) as exc:
            raise BackendError(f"no model could answer ({exc})") from None
        if prepared.name == self.primary and instruction == "{text}":
            prepared.messages = list(messages)  # the primary sees the whole conversation
        note = f" ({prepared.note})" if prepared.note else ""
        return Plan(prepared.name, f"{reason} → {prepared.name}{note}", choice, prepared=prepared,
                    fallback=prepared.name == self.primary and capability != "primary_chat")

    def learned_plan(self, choice, messages):
        """The learned router's model answers; the next ones in its ranking take over on failure."""
        import time

        from cadre.runtime.errors import BackendError
        from cadre.runtime.plan import Plan
        from cadre.runtime.tools import Prepared

        plan = Plan(choice.name, choice.reason, choice, request_id=self.gateway.request_id())
        try:
            chain = self.gateway.chain(choice, lambda name, attempts: self.recorder.answered(plan, name, attempts))
        except BackendError as exc:
            self.recorder.record(plan, "auto", messages, time.perf_counter(), None, "error", str(exc))
            raise
        plan.chain, plan.model, plan.fallback = chain, chain.held, bool(chain.attempts.fallbacks)
        plan.reason = choice.reason + chain.attempts.note() + (
            f" → {chain.held}" if chain.attempts.fallbacks else "")
        plan.prepared = Prepared(chain.held, chain, list(messages), "", chain.release)
        return plan
