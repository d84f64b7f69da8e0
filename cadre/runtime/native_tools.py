"""The built-in tool loop (`tool_calling: primary`/`auto`) for a primary that calls
functions natively (an `openai` upstream): the tools go as `tools`, the upstream's
`tool_calls` are run by the ToolBox and their results go back as `tool` messages with the
call's id, as OpenAI's protocol has it. Nothing is inlined into a system prompt.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cadre.runtime.types import Usage


@dataclass
class NativeLoop:
    text: str = ""
    steps: list[dict] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    rounds: int = 0
    finish_reason: str = "stop"


def native_tool_loop(manager, name: str, toolbox, messages: list[dict], tools: list[dict], max_steps: int,
                     max_tokens: int, temperature: float, top_p: float) -> NativeLoop:
    """Ask the upstream with tools, run the calls it makes, feed the results back (at most
    `max_steps` rounds); the rounds' tokens add up."""
    from cadre.runtime.backends.openai_wire import usage_of as _usage

    convo, loop = list(messages), NativeLoop()
    for _ in range(max_steps):
        loop.rounds += 1
        with manager.use(name) as backend:
            data = backend.complete(convo, max_tokens, temperature, top_p, tools=tools)
        used = _usage(data)
        loop.usage.prompt_tokens += used.prompt_tokens
        loop.usage.completion_tokens += used.completion_tokens
        choice = data["choices"][0]
        message, loop.finish_reason = choice["message"], choice.get("finish_reason") or "stop"
        calls = message.get("tool_calls") or []
        loop.text = message.get("content") or ""
        if not calls:
            return loop
        convo.append({"role": "assistant", "content": message.get("content"), "tool_calls": calls})
        for call in calls:
            fn = call.get("function") or {}
            outcome = toolbox.run(fn.get("name", ""), fn.get("arguments") or "{}")
            loop.steps.append({"tool": outcome.name, "arguments": fn.get("arguments"), "ok": outcome.ok,
                               "model": outcome.model, "result": outcome.text[:500]})
            convo.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": outcome.text})
    ok = [s["result"] for s in loop.steps if s["ok"]]
    loop.text, loop.finish_reason = (ok[-1] if ok else loop.text), "stop"
    return loop
