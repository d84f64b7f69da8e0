"""The answering stage: a leased plan becomes an Answer (runtime/answer.py) or, for the
Python API, a whole EngineResult. It opens the model's stream (client fields passed
natively, or the client's tools offered in a local model's prompt), wires the fallback to
the primary (which runtime/answer.py judges), the awaited forms for an `openai` upstream
and the faithful proxy, and the Lease that releases the model and writes the record."""
from __future__ import annotations

import time
import weakref

from cadre.runtime import params, passthrough, timing
from cadre.runtime.answer import Answer, attach_async, attach_proxy, falls_back, replaced_because
from cadre.runtime.lease import Lease
from cadre.runtime.plan import Plan
from cadre.runtime.request import ChatRequest, Sampling
from cadre.runtime.types import EngineResult, Usage


class Responder:
    """Answers leased plans for one engine."""

    def __init__(self, manager, leaser, recorder, gateway, sticky):
        self.manager, self.leaser, self.recorder, self.gateway = manager, leaser, recorder, gateway
        self.sticky, self.primary = sticky, leaser.primary

    def whole(self, plan: Plan, request: ChatRequest, started: float) -> EngineResult:
        """The whole answer of a plan (the Python API's `Engine.chat`)."""
        messages, model, cancel = request.messages, request.model, request.cancel
        try:
            usage = self._run(plan, request.sampling, cancel)
        except Exception as exc:
            self.recorder.record(plan, model, messages, started, None, "error", str(exc))
            raise
        why = replaced_because(plan.text) if falls_back(plan, self.primary) else None
        if why is not None:  # a tiny specialist that answered nothing usable: the primary answers instead
            plan = self.leaser.primary_plan(plan.route, messages, f"{plan.reason}: {why} → primary")
            usage = self._run(plan, request.sampling, cancel)
        self.recorder.count(plan)
        self.sticky.remember_calls(plan.model, [c.get("id") for c in plan.tool_calls])
        plan.cost = self.gateway.estimate_cost(plan.model, usage, plan.route)
        self.recorder.record(plan, model, messages, started, usage, "ok")
        return EngineResult(plan.text or "", plan.model, plan.reason, plan.route,
                            (time.perf_counter() - started) * 1000, usage, plan.tool_calls,
                            "tool_calls" if plan.tool_calls else plan.finish_reason,
                            plan.request_id, plan.cost, self.gateway.feedback_token(plan.request_id))

    def _run(self, plan: Plan, sampling: Sampling, cancel=None) -> Usage:
        """Generate a planned answer from its model (a ready text needs nothing)."""
        if plan.prepared is None:
            return plan.usage
        try:
            if plan.fields or plan.client_tools is not None or plan.limit:
                stream = self._open(plan, sampling, cancel)
                text, plan.tool_calls = passthrough.drain(stream)
                usage, plan.finish_reason = stream.usage, stream.finish_reason
            else:
                if not params.accepts_any(plan.prepared.backend):
                    sampling = sampling.local()
                text, usage, plan.finish_reason = plan.prepared.backend.chat(
                    plan.prepared.messages, max_tokens=sampling.max_tokens, temperature=sampling.temperature,
                    top_p=sampling.top_p)
        finally:
            self.leaser.release(plan.prepared)
        plan.text = text.strip()
        return usage

    def _open(self, plan: Plan, sampling: Sampling, cancel):
        """The backend's stream for a plan: client fields passed natively, or the client's
        tools offered in a local model's prompt."""
        prepared = plan.prepared
        if not params.accepts_any(prepared.backend):  # a local model (or a plugin) gets its defaults
            sampling = sampling.local(plan.limit)
        if plan.client_tools is not None:
            tools, choice = plan.client_tools
            return passthrough.local_tool_stream(prepared.backend, prepared.name, prepared.messages, tools,
                                                 choice, *sampling.triple(), cancel)
        stream = prepared.backend.stream(prepared.messages, *sampling.triple(), cancel=cancel, **plan.fields)
        if "tools" in plan.fields and passthrough.wants_tool_call(plan.fields.get("tool_choice")):
            return passthrough.require_tool_call(stream, prepared.name)
        return stream

    def stream(self, plan: Plan, request: ChatRequest, started: float) -> Answer:
        """The Answer of a plan: who and why now, the pieces as they come."""
        messages, model = request.messages, request.model
        self.recorder.count(plan)
        if plan.route is not None and plan.request_id is None:
            plan.request_id = self.gateway.request_id()
        plan.cost = self.gateway.estimate_cost(plan.model, None, plan.route)
        answer = Answer(plan.model, plan.reason, plan.route, finish_reason=plan.finish_reason,
                        usage=plan.usage, request_id=plan.request_id, cost=plan.cost,
                        feedback_token=self.gateway.feedback_token(plan.request_id))
        if plan.prepared is None:
            answer.ready(plan.text or "")
            self.recorder.record(plan, model, messages, started, None, "ok")
            return answer
        ref = weakref.ref(answer)  # the closing record must not keep a dropped answer alive
        if plan.chain is not None:  # a failover before the first piece renames the answering model
            plan.chain.on_answer = lambda name, attempts: self.recorder.answered(plan, name, attempts, ref())

        def finish():
            live = ref()
            error = live.error if live is not None else "stream dropped unread"
            self.recorder.record(lease.plan, model, messages, started, live.usage if live is not None else None,
                         "error" if error else "ok", error)
        lease = Lease(plan, self.manager, finish)
        weakref.finalize(answer, lease)  # an answer dropped before streaming still releases
        sampling = request.sampling
        replace = self._replacer(answer, lease, messages, sampling) if falls_back(plan, self.primary) else None
        pieces = self._deltas(answer, plan, lease, sampling)
        answer.read_from(pieces, lease, replace)
        if getattr(plan.prepared.backend, "supports_async", False) and not plan.fields and plan.client_tools is None:
            # the server awaits a plain upstream answer on its loop (client fields take the threaded path)
            attach_async(answer, plan.prepared, lease, sampling, replace)
        if params.accepts_any(plan.prepared.backend) and plan.client_tools is None \
                and hasattr(plan.prepared.backend, "ajson") and replace is None:
            attach_proxy(answer, plan, lease, sampling, self.sticky.remember_calls)
        return answer

    def _replacer(self, answer: Answer, lease: Lease, messages, sampling: Sampling):
        """The fallback (runtime/answer.py judges when): the specialist is released, the
        primary answers the whole conversation and the answer says why."""
        def replace(why: str):
            old = lease.plan
            lease.release()
            plan = self.leaser.primary_plan(old.route, messages, f"{old.reason}: {why} → primary")
            plan.request_id, plan.cost = old.request_id, self.gateway.estimate_cost(self.primary, None, old.route)
            lease.swap(plan)
            self.recorder.fell_back(old.model, plan.model)
            answer.rename(plan.model, plan.reason, plan.cost)
            return self._deltas(answer, plan, lease, sampling)
        return replace

    def _deltas(self, answer: Answer, plan: Plan, lease: Lease, sampling: Sampling):
        """A plan's pieces from its model's stream; the model is released when they end."""
        try:
            timing.model_started()
            stream = self._open(plan, sampling, answer.cancelled)
            first = True
            for piece in stream:
                timing.model_progress()
                if not isinstance(piece, str):  # a tool-call delta
                    self.sticky.remember_calls(answer.model, [piece.get("id")])
                    yield piece
                    continue
                piece = piece.lstrip() if first else piece
                first = first and not piece
                if piece:
                    yield piece
            answer.settle(stream.usage, stream.finish_reason, getattr(stream, "logprobs", None))
        except Exception as exc:
            answer.failed(str(exc))
            raise
        finally:
            timing.model_done()
            lease.release()
