"""The engine's built-in tool calling: the primary calls cadre's tools, natively when its
backend takes `tools`, else through the tool prompt; a client that leaves stops it."""
from __future__ import annotations

from cadre.errors import CadreError
from cadre.runtime.backends.base import local_sampling
from cadre.runtime.plan import Plan
from cadre.runtime.tools import TOOL_SCHEMAS, run_tool_loop
from cadre.runtime.types import Usage


class Cancelled(CadreError):
    """A generation stopped because its client left (nobody reads the answer)."""


class ToolCalling:
    """Engine methods for the primary's tool calling (mixed into Engine)."""

    def _primary_calls_tools(self) -> bool:
        """Only when the project asks (`tool_calling: primary`): an upstream able to call
        functions is no reason to turn a plain chat into a loop over cadre's tools. With
        `auto` (the default) the built-in tools run when routing picks them."""
        return self.config.runtime.tool_calling == "primary"

    def _primary_is_native(self) -> bool:
        """A primary whose backend takes `tools` natively (read from its class: no load)."""
        from cadre.runtime.backends.base import get_backend

        names = getattr(get_backend(self.registry.get(self.primary).backend), "passthrough", None)
        return isinstance(names, frozenset) and "tools" in names

    def _native_tool_loop(self, messages, max_tokens, temperature, top_p) -> Plan:
        from cadre.runtime.native_tools import native_tool_loop

        loop = native_tool_loop(self.manager, self.primary, self.toolbox, messages, list(TOOL_SCHEMAS.values()),
                                self.config.runtime.max_tool_steps, max_tokens, temperature, top_p)
        if not loop.steps:
            return Plan(self.primary, "tool calling: primary answered without tools (native)",
                        text=loop.text.strip(), usage=loop.usage, finish_reason=loop.finish_reason)
        last = next((s["model"] for s in reversed(loop.steps) if s["ok"]), self.primary)
        failed = [s["result"] for s in loop.steps if not s["ok"]]
        why = (f"tool calling: primary called {', '.join(s['tool'] for s in loop.steps)} natively"
               + (f"; errors: {failed[0][:80]}" if failed else "") + f" ({loop.rounds} round{'s' * (loop.rounds > 1)})")
        return Plan(last, why, text=loop.text.strip(), usage=loop.usage, finish_reason=loop.finish_reason)

    def _generate_with(self, name: str, max_tokens, temperature, top_p, usage: Usage | None = None, cancel=None):
        """One round of a tool loop; the rounds' tokens add up in `usage`. With `cancel`
        the round is streamed, so a client that leaves stops it."""
        def generate(convo: list[dict]) -> str:
            if cancel is not None and cancel.is_set():
                raise Cancelled("the client went away")
            with self.manager.use(name) as backend:
                sampling = (max_tokens, temperature, top_p) if getattr(backend, "accepts_any_field", False) \
                    else local_sampling(max_tokens, temperature, top_p)
                if cancel is None:
                    text, used, _ = backend.chat(convo, *sampling)
                else:
                    stream = backend.stream(convo, *sampling, cancel=cancel)
                    text, used = stream.text(), stream.usage
            if cancel is not None and cancel.is_set():
                raise Cancelled("the client went away")
            if usage is not None:
                usage.prompt_tokens += used.prompt_tokens
                usage.completion_tokens += used.completion_tokens
            return text
        return generate

    def _tool_loop(self, messages, max_tokens, temperature, top_p, cancel=None) -> Plan:
        if self._primary_is_native():
            return self._native_tool_loop(messages, max_tokens, temperature, top_p)
        usage = Usage()
        loop = run_tool_loop(self._generate_with(self.primary, max_tokens, temperature, top_p, usage, cancel),
                             self.toolbox, messages, list(TOOL_SCHEMAS.values()), self.config.runtime.max_tool_steps)
        used = [s["tool"] for s in loop.steps if s.get("tool")]
        if not loop.steps:
            return Plan(self.primary, "tool calling: primary answered without tools", text=loop.text.strip(),
                        usage=usage)
        last = next((s["model"] for s in reversed(loop.steps) if s.get("ok")), self.primary)
        failed = [s["result"] for s in loop.steps if not s["ok"]]
        why = f"tool calling: primary called {', '.join(used) or 'nothing valid'}" + (
            f"; errors: {failed[0][:80]}" if failed else "") + f" ({loop.rounds} round{'s' * (loop.rounds > 1)})"
        return Plan(last, why, text=loop.text.strip(), usage=usage)
