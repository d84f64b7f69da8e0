"""The Responses API in Chat Completions terms, both ways: a request's `input`,
`instructions`, function tools and their outputs become chat messages, tools and fields;
a chat answer (text, tool calls, usage) becomes Responses output items and the response
object. Used for every upstream that does not speak /v1/responses itself, and for local
models.
"""
from __future__ import annotations

import time
import uuid

from cadre.errors import CadreError

# Responses fields carried into the chat request under the same name.
SAME_NAME = ("parallel_tool_calls", "user", "prompt_cache_key", "safety_identifier", "service_tier",
             "metadata", "top_logprobs")
REFUSED = ("background", "conversation", "prompt")


def refuse(param: str, message: str) -> CadreError:
    """A 400 naming the parameter."""
    error = CadreError(message)
    error.param = param
    return error


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _parts(content):
    """Responses content parts → chat content (a string, or text and image parts)."""
    if isinstance(content, str) or content is None:
        return content or ""
    parts = []
    for part in content:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image" and part.get("image_url"):
            parts.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
        elif kind == "refusal":
            parts.append({"type": "text", "text": part.get("refusal", "")})
        else:
            raise CadreError(f"input content part of type {kind!r} is not supported")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def input_messages(items) -> list[dict]:
    """`input` (a string or a list of items) as chat messages."""
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    messages: list[dict] = []
    for item in items or []:
        if not isinstance(item, dict):
            raise CadreError("input items must be objects")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role", "user")
            role = "system" if role == "developer" else role
            messages.append({"role": role, "content": _parts(item.get("content"))})
        elif kind == "function_call":
            call = {"id": item.get("call_id") or item.get("id"), "type": "function",
                    "function": {"name": item.get("name", ""), "arguments": item.get("arguments") or "{}"}}
            last = messages[-1] if messages else None
            if last and last["role"] == "assistant" and last.get("tool_calls") is not None and not last["content"]:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"),
                             "content": _text_of(item.get("output"))})
        elif kind in ("reasoning", "item_reference"):
            continue  # nothing a chat model takes
        else:
            raise CadreError(f"input item of type {kind!r} is not supported")
    return messages


def chat_tools(tools) -> list[dict] | None:
    """Responses function tools → chat tools; other tool types are refused."""
    if not tools:
        return None
    out = []
    for tool in tools:
        if tool.get("type") != "function":
            raise refuse("tools", f"tools of type {tool.get('type')!r} are not supported (function tools are)")
        fn = {"name": tool.get("name"), "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}
        if tool.get("description"):
            fn["description"] = tool["description"]
        if tool.get("strict") is not None:
            fn["strict"] = tool["strict"]
        out.append({"type": "function", "function": fn})
    return out


def chat_tool_choice(choice):
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    if isinstance(choice, dict):
        raise refuse("tool_choice", f"tool_choice of type {choice.get('type')!r} is not supported")
    return choice


def chat_format(text: dict | None) -> dict | None:
    fmt = (text or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        spec = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": spec}
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    return None


def chat_request(body: dict, history: list[dict]) -> tuple[list[dict], dict, dict]:
    """(messages, sampling, fields) of the chat request a Responses request stands for."""
    for name in REFUSED:
        if body.get(name) is not None:
            raise refuse(name, f"{name!r} is not supported by cadre's /v1/responses")
    messages = [*history, *input_messages(body.get("input"))]
    if body.get("instructions"):
        messages.insert(0, {"role": "system", "content": body["instructions"]})
    if not messages:
        raise CadreError("input must not be empty")
    sampling = {"temperature": body.get("temperature"), "top_p": body.get("top_p")}
    fields = {name: body[name] for name in SAME_NAME if body.get(name) is not None}
    fields.update({"tools": chat_tools(body.get("tools")), "tool_choice": chat_tool_choice(body.get("tool_choice")),
                   "response_format": chat_format(body.get("text")),
                   "max_completion_tokens": body.get("max_output_tokens"),
                   "reasoning_effort": (body.get("reasoning") or {}).get("effort")})
    if not fields["tools"]:
        fields.pop("tool_choice")
    return messages, sampling, {k: v for k, v in fields.items() if v is not None}


def message_item(text: str, item_id: str | None = None, status: str = "completed") -> dict:
    return {"type": "message", "id": item_id or new_id("msg"), "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def call_item(call: dict, item_id: str | None = None, status: str = "completed") -> dict:
    fn = call.get("function") or {}
    return {"type": "function_call", "id": item_id or new_id("fc"), "call_id": call.get("id") or new_id("call"),
            "name": fn.get("name", ""), "arguments": fn.get("arguments") or "", "status": status}


def output_items(text: str, calls: list[dict]) -> list[dict]:
    items = [message_item(text)] if text or not calls else []
    return items + [call_item(c) for c in calls]


def usage_object(usage) -> dict:
    prompt, completion = getattr(usage, "prompt_tokens", 0), getattr(usage, "completion_tokens", 0)
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": prompt + completion}


def response_object(response_id: str, body: dict, model: str, output: list[dict], usage, finish: str,
                    status: str | None = None) -> dict:
    """The Responses `response` object (status completed, or incomplete when cut at the token limit)."""
    status = status or ("incomplete" if finish == "length" else "completed")
    return {"id": response_id, "object": "response", "created_at": int(time.time()), "status": status,
            "model": model, "output": output, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "instructions": body.get("instructions"), "metadata": body.get("metadata") or {},
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "temperature": body.get("temperature"), "top_p": body.get("top_p"),
            "tool_choice": body.get("tool_choice") or "auto", "tools": body.get("tools") or [],
            "max_output_tokens": body.get("max_output_tokens"),
            "previous_response_id": body.get("previous_response_id"),
            "text": body.get("text") or {"format": {"type": "text"}}, "truncation": "disabled",
            "store": body.get("store", True), "usage": usage_object(usage) if usage is not None else None}


def output_messages(output: list[dict]) -> list[dict]:
    """A response's output items as chat messages (for `previous_response_id`)."""
    return input_messages([item for item in output if item.get("type") in ("message", "function_call")])



def input_items(messages: list[dict]) -> list[dict]:
    """Chat messages as Responses input items (a stored conversation for a native upstream)."""
    items = []
    for m in messages:
        if m.get("role") == "tool":
            items.append({"type": "function_call_output", "call_id": m.get("tool_call_id"),
                          "output": m.get("content") or ""})
            continue
        if m.get("content"):
            items.append({"type": "message", "role": m["role"], "content": m["content"]})
        for call in m.get("tool_calls") or ():
            items.append({"type": "function_call", "call_id": call.get("id"), "name": call["function"]["name"],
                          "arguments": call["function"].get("arguments") or ""})
    return items
