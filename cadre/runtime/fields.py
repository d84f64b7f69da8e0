"""Fitting a plan to the client's fields (tools, tool_choice, response_format): native to a
backend that acts on them, offered in a local chat model's prompt, or handed to the
primary; a model that cannot comply is a clear error."""
from __future__ import annotations

from cadre.errors import CadreError
from cadre.runtime import params, passthrough
from cadre.runtime.plan import Plan


class ClientFields:
    """The client-fields step between deciding and answering: it may hand the plan to the
    primary (runtime/lease.Leaser) or refuse the request."""

    def __init__(self, registry, leaser):
        self.registry, self.leaser, self.primary = registry, leaser, registry.primary().name

    def _release(self, prepared) -> None:
        self.leaser.release(prepared)

    def _primary_plan(self, choice, messages, reason: str) -> Plan:
        return self.leaser.primary_plan(choice, messages, reason)

    def honour(self, plan: Plan, messages, requested: str, fields: dict) -> Plan:
        """Fit the plan to the client's fields (runtime/passthrough.py): native to a backend
        that acts on them; a local chat model gets the tools in its prompt and constrained
        decoding for response_format; a specialist or a tool that cannot comply hands over
        to the primary (model="auto") or is a clear error (a model named)."""
        if not fields:
            return plan
        if plan.prepared is not None:
            plan = self._refuse_unsupported(plan, messages, requested in self.registry, fields)
        choice = fields.get("tool_choice")
        tools = fields.get("tools") if choice != "none" else None
        forced = passthrough.wants_tool_call(choice) if tools else False
        json_out = passthrough.wants_json(fields)
        named = requested in self.registry
        if plan.prepared is None:  # a tool (sympy, vision) answered with a ready text
            if not (forced or json_out):
                return plan
            need = "tool_choice" if forced else "response_format"
            plan = self._primary_plan(plan.route, messages, f"{plan.reason}; {need} needs a model → primary")
        native = passthrough.supported(plan.prepared.backend, fields)
        offer = tools is not None and "tools" not in native
        if offer and not (named or plan.model == self.primary or self.registry.get(plan.model).supports_function_calling):
            if forced or json_out:
                plan = self._switch_to_primary(plan, messages, "tool_choice needs a tool-calling model")
                native = passthrough.supported(plan.prepared.backend, fields)
            else:
                plan.reason += f" (tools not offered to {plan.model})"
                offer = False
        if json_out and "response_format" not in native and not offer:
            if named or plan.model == self.primary:
                self._release(plan.prepared)
                raise CadreError(f"model {plan.model!r} cannot honour response_format "
                                 "(it is neither an OpenAI-compatible upstream nor a Hugging Face chat model)")
            plan = self._switch_to_primary(plan, messages, "response_format needs a model that honours it")
            native = passthrough.supported(plan.prepared.backend, fields)
            if "response_format" not in native:
                self._release(plan.prepared)
                raise CadreError(f"no model here can honour response_format (primary {self.primary!r} cannot)")
        plan.fields = {} if offer else native
        if offer:
            plan.client_tools = (tools, choice)
        if tools is not None and (offer or "tools" in native):
            plan.reason += " (client tools offered in the prompt)" if offer else " (client tools passed natively)"
        if (offer or native.keys() & {"tools", "response_format"}) and \
                getattr(plan.prepared.backend, "encoder", None) is None:
            plan.prepared.messages = list(messages)  # an agent's whole conversation, not a one-turn instruction
        return plan

    def _switch_to_primary(self, plan: Plan, messages, why: str) -> Plan:
        return self.leaser.switch_to_primary(plan, messages, why)

    def _refuse_unsupported(self, plan: Plan, messages, named: bool, fields: dict) -> Plan:
        """A parameter the chosen local model cannot honour: a routed request goes to a
        primary that passes it on; otherwise a 400 naming the parameter and the model."""
        problem = params.refused(fields, plan.prepared.backend)
        if problem is None:
            return plan
        if not named and plan.model != self.primary and self._primary_accepts_any():
            return self._switch_to_primary(plan, messages, f"{problem[0]} needs an upstream that takes it")
        self._release(plan.prepared)
        raise params.UnsupportedParameter(problem[0], plan.model, problem[1])

    def _primary_accepts_any(self) -> bool:
        from cadre.runtime.backends.base import get_backend

        return bool(getattr(get_backend(self.registry.get(self.primary).backend), "accepts_any_field", False))
