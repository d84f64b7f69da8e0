"""What a client sends beyond messages and sampling (tools, tool_choice, response_format,
seed), and how the chosen model is made to honour it.

- An upstream that understands a field (the `openai` backend) gets it as it is, and its
  native `tool_calls` come back as OpenAI tool-call deltas (dicts) among the text pieces.
- A local chat model is offered the client's tools in its prompt; its answer streams as
  text unless it starts like a tool call, which is held back, parsed and sent as
  tool-call deltas. `tool_choice` "required" or a named function that the model did not
  call is retried once with constrained decoding (lm-format-enforcer); a model that
  cannot be constrained is a clear error, never a silent "stop".
"""
from __future__ import annotations

import json

from cadre.errors import CadreError
from cadre.runtime.backends.base import TextStream
from cadre.runtime.tools import ToolCall, parse_tool_calls, tool_prompt

CALL_STARTS = ("<tool_call>", "[", "{", "```")


def supported(backend, fields: dict) -> dict:
    """The fields this backend acts on (others are not sent to it); an upstream that
    passes every parameter on gets them all."""
    if getattr(backend, "accepts_any_field", False):
        return dict(fields)
    names = getattr(backend, "passthrough", frozenset())
    return {k: v for k, v in fields.items() if k in names}


def wants_tool_call(tool_choice) -> bool:
    """tool_choice that obliges the model to call a tool."""
    return tool_choice == "required" or isinstance(tool_choice, dict)


def wants_json(fields: dict) -> bool:
    return (fields.get("response_format") or {}).get("type") in ("json_object", "json_schema")


def forced_name(tool_choice) -> str | None:
    """The function a named tool_choice requires."""
    if isinstance(tool_choice, dict):
        return (tool_choice.get("function") or {}).get("name")
    return None


def merge_tool_deltas(deltas: list[dict]) -> list[dict]:
    """Whole OpenAI tool calls from their streamed deltas (arguments are concatenated by index)."""
    calls: dict[int, dict] = {}
    for delta in deltas:
        index = int(delta.get("index", len(calls)))
        call = calls.setdefault(index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
        if delta.get("id"):
            call["id"] = delta["id"]
        fn = delta.get("function") or {}
        call["function"]["name"] += fn.get("name") or ""
        call["function"]["arguments"] += fn.get("arguments") or ""
    return [calls[i] for i in sorted(calls)]


def drain(pieces) -> tuple[str, list[dict]]:
    """Consume a stream of text pieces and tool-call deltas: (text, whole tool calls)."""
    text, deltas = [], []
    for piece in pieces:
        (text if isinstance(piece, str) else deltas).append(piece)
    return "".join(text), merge_tool_deltas(deltas)


def require_tool_call(stream: TextStream, model: str) -> TextStream:
    """An upstream stream that must contain a tool call (tool_choice forced one): one that
    ends without it is a BackendError (an error event when streamed), never a silent stop."""
    def pieces(out: TextStream):
        called = False
        for piece in stream:
            called = called or not isinstance(piece, str)
            yield piece
        out.usage, out.finish_reason = stream.usage, stream.finish_reason
        if not called and out.finish_reason != "cancelled":
            from cadre.runtime.errors import BackendError

            raise BackendError(f"model {model!r} answered without the tool call that tool_choice requires",
                               client_safe=True)
    return TextStream(pieces)


def _may_be_call(head: str) -> bool:
    return head.startswith(CALL_STARTS) or any(s.startswith(head) for s in CALL_STARTS)


def local_tool_stream(backend, model: str, messages: list[dict], tools: list[dict], tool_choice,
                      max_tokens: int, temperature: float, top_p: float, cancel=None) -> TextStream:
    """A local model answering with the client's tools offered in its prompt (see module doc)."""
    from cadre.runtime.backends.base import local_sampling

    max_tokens, temperature, top_p = local_sampling(max_tokens, temperature, top_p)
    names = {t.get("function", t).get("name") for t in tools}
    wanted = forced_name(tool_choice)
    forced = wants_tool_call(tool_choice)
    convo = _with_system(messages, tool_prompt(tools))

    def pieces(out: TextStream):
        stream = backend.stream(convo, max_tokens, temperature, top_p, cancel=cancel)
        buffer, held = "", True
        for piece in stream:
            if not held:
                yield piece
                continue
            buffer += piece
            head = buffer.lstrip()
            if head and not forced and not _may_be_call(head):  # a forced call never streams prose
                held = False
                yield buffer
        out.usage, out.finish_reason = stream.usage, stream.finish_reason
        calls = [c for c in parse_tool_calls(buffer)[0] if c.name in names and c.name == (wanted or c.name)] \
            if held else []
        if not calls and wants_tool_call(tool_choice):
            calls = [_constrained_call(backend, model, convo, tools, wanted, max_tokens, out)]
        elif not calls and held and buffer:
            yield buffer
        if calls:
            out.finish_reason = "tool_calls"
            for i, call in enumerate(calls):
                yield {"index": i, **call.to_openai()}
    return TextStream(pieces)


def _constrained_call(backend, model: str, convo, tools, wanted: str | None, max_tokens: int,
                      out: TextStream) -> ToolCall:
    """tool_choice obliges a call the model did not write: generate one constrained to the
    tools' schema (once), or fail with a clear error."""
    if "response_format" not in getattr(backend, "passthrough", ()):
        raise CadreError(f"model {model!r} wrote no tool call, and tool_choice requires one "
                         "(it cannot be constrained to a schema); use a model with function calling")
    fns = [t.get("function", t) for t in tools if t.get("function", t).get("name") == (wanted or
                                                                                      t.get("function", t).get("name"))]
    if not fns:
        raise CadreError(f"tool_choice names {wanted!r}, which is not among the request's tools")
    schema = {"type": "object", "required": ["name", "arguments"], "properties": {
        "name": {"type": "string", "enum": [f["name"] for f in fns]},
        "arguments": (fns[0].get("parameters") or {"type": "object"}) if len(fns) == 1 else {"type": "object"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "tool_call", "schema": schema}}
    stream = backend.stream(convo, max(max_tokens, 64), 0.0, 1.0, response_format=fmt)
    text = stream.text()
    out.usage.prompt_tokens += stream.usage.prompt_tokens
    out.usage.completion_tokens += stream.usage.completion_tokens
    try:
        data = json.loads(text)
        return ToolCall(data["name"], json.dumps(data["arguments"]))
    except (ValueError, KeyError, TypeError):
        raise CadreError(f"model {model!r} could not write the tool call tool_choice requires within "
                         f"{max(max_tokens, 64)} tokens; raise max_tokens") from None


def _with_system(messages: list[dict], system: str) -> list[dict]:
    if messages and messages[0].get("role") == "system":
        first = messages[0]
        return [{"role": "system", "content": f"{system}\n\n{first.get('content') or ''}"}, *messages[1:]]
    return [{"role": "system", "content": system}, *messages]
