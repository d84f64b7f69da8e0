"""The primary calling cadre's built-in tools (`tool_calling: primary`): natively when its
backend takes `tools`, else through the tool prompt; a client that leaves stops it. The
decide stage names it (Decision kind `tool_loop`); this runs it to a ready answer."""
from __future__ import annotations

from cadre.errors import CadreError
from cadre.runtime.backends.base import get_backend, local_sampling
from cadre.runtime.plan import Plan
from cadre.runtime.request import Sampling
from cadre.runtime.tools import TOOL_SCHEMAS, run_tool_loop
from cadre.runtime.types import Usage


class Cancelled(CadreError):
    """A generation stopped because its client left (nobody reads the answer)."""


class ToolLoop:
    """The primary's tool loop over one engine's models and toolbox."""

    def __init__(self, config, registry, manager, toolbox):
        self.max_steps = config.runtime.max_tool_steps
        self.registry, self.manager, self.toolbox = registry, manager, toolbox
        self.primary = registry.primary().name

    def run(self, messages, sampling: Sampling, cancel=None) -> Plan:
        """The loop's answer as a ready plan, its reason naming the tools called."""
        if self._primary_is_native():
            return self._native(messages, sampling)
        usage = Usage()
        loop = run_tool_loop(self._generate_with(self.primary, sampling, usage, cancel),
                             self.toolbox, messages, list(TOOL_SCHEMAS.values()), self.max_steps)
        if not loop.steps:
            return Plan(self.primary, "tool calling: primary answered without tools", text=loop.text.strip(),
                        usage=usage)
        used = [s["tool"] for s in loop.steps if s.get("tool")]
        why = f"tool calling: primary called {', '.join(used) or 'nothing valid'}" + _errors(loop) + _rounds(loop)
        return Plan(_last(loop, self.primary), why, text=loop.text.strip(), usage=usage)

    def _primary_is_native(self) -> bool:
        """A primary whose backend takes `tools` natively (read from its class: no load)."""
        names = getattr(get_backend(self.registry.get(self.primary).backend), "passthrough", None)
        return isinstance(names, frozenset) and "tools" in names

    def _native(self, messages, sampling: Sampling) -> Plan:
        from cadre.runtime.native_tools import native_tool_loop

        loop = native_tool_loop(self.manager, self.primary, self.toolbox, messages, list(TOOL_SCHEMAS.values()),
                                self.max_steps, *sampling.triple())
        if not loop.steps:
            return Plan(self.primary, "tool calling: primary answered without tools (native)",
                        text=loop.text.strip(), usage=loop.usage, finish_reason=loop.finish_reason)
        why = (f"tool calling: primary called {', '.join(s['tool'] for s in loop.steps)} natively"
               + _errors(loop) + _rounds(loop))
        return Plan(_last(loop, self.primary), why, text=loop.text.strip(), usage=loop.usage,
                    finish_reason=loop.finish_reason)

    def _generate_with(self, name: str, sampling: Sampling, usage: Usage | None = None, cancel=None):
        """One round of a tool loop; the rounds' tokens add up in `usage`. With `cancel`
        the round is streamed, so a client that leaves stops it."""
        def generate(convo: list[dict]) -> str:
            if cancel is not None and cancel.is_set():
                raise Cancelled("the client went away")
            with self.manager.use(name) as backend:
                triple = sampling.triple() if getattr(backend, "accepts_any_field", False) \
                    else local_sampling(*sampling.triple())
                if cancel is None:
                    text, used, _ = backend.chat(convo, *triple)
                else:
                    stream = backend.stream(convo, *triple, cancel=cancel)
                    text, used = stream.text(), stream.usage
            if cancel is not None and cancel.is_set():
                raise Cancelled("the client went away")
            if usage is not None:
                usage.prompt_tokens += used.prompt_tokens
                usage.completion_tokens += used.completion_tokens
            return text
        return generate


def _last(loop, primary: str) -> str:
    return next((s["model"] for s in reversed(loop.steps) if s.get("ok")), primary)


def _errors(loop) -> str:
    failed = [s["result"] for s in loop.steps if not s["ok"]]
    return f"; errors: {failed[0][:80]}" if failed else ""


def _rounds(loop) -> str:
    return f" ({loop.rounds} round{'s' * (loop.rounds > 1)})"
