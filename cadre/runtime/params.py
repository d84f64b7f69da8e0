"""Every Chat Completions and Responses parameter, and what each backend does with it.

An `openai` upstream is a faithful proxy: every parameter the client set is passed on as
it came (unknown ones too: the upstream judges them), and nothing the client left out is
added. A local model honours what it can; the rest is refused with a 400 that names the
parameter and the model, unless its value is the no-op default a client sends anyway
(`n: 1`, `logprobs: false`...). docs/serve.md's parameter table is this table.
"""
from __future__ import annotations

from cadre.errors import CadreError

PASSED, HONOURED, IGNORED, REFUSED = "passed", "honoured", "ignored", "refused"

# name -> (what a local model does, how, the values a local model accepts as no-ops)
CHAT: dict[str, tuple[str, str, tuple]] = {
    "model": (HONOURED, "routing: a registry name, `auto` or `router-<kind>-<t>`", ()),
    "messages": (HONOURED, "the conversation", ()),
    "stream": (HONOURED, "SSE", ()),
    "stream_options": (HONOURED, "`include_usage`", ()),
    "max_tokens": (HONOURED, "default 256 on a local model; not sent upstream when unset", ()),
    "max_completion_tokens": (HONOURED, "as max_tokens", ()),
    "temperature": (HONOURED, "default 0 (greedy) on a local model; not sent upstream when unset", ()),
    "top_p": (HONOURED, "nucleus sampling", ()),
    "stop": (HONOURED, "cut by the server", ()),
    "seed": (HONOURED, "seeds sampling", ()),
    "tools": (HONOURED, "offered in the prompt; calls parsed back", ()),
    "tool_choice": (HONOURED, "required/named: constrained decoding", ()),
    "parallel_tool_calls": (HONOURED, "several calls are parsed when written", ()),
    "response_format": (HONOURED, "constrained decoding (Hugging Face chat models)", ()),
    "presence_penalty": (HONOURED, "subtracted from the logits of tokens already produced", ()),
    "frequency_penalty": (HONOURED, "subtracted per occurrence of a produced token", ()),
    "user": (IGNORED, "no effect on the answer", ()),
    "prompt_cache_key": (IGNORED, "no effect on the answer", ()),
    "safety_identifier": (IGNORED, "no effect on a local model", ()),
    "metadata": (IGNORED, "no effect on a local model", ()),
    "service_tier": (IGNORED, "no effect on a local model", ()),
    "n": (HONOURED, "the model is asked n times (whole answers only; n > 1 with stream is a 400)", ()),
    "logprobs": (HONOURED, "each token's log probability (whole answers only; with stream a 400)", (False,)),
    "top_logprobs": (HONOURED, "the likeliest alternatives of each token", (0,)),
    "logit_bias": (REFUSED, "not applied", ({},)),
    "store": (REFUSED, "nothing is stored", (False,)),
    "reasoning_effort": (REFUSED, "not a reasoning model", ()),
    "verbosity": (REFUSED, "no such control", ()),
    "prediction": (REFUSED, "no predicted outputs", ()),
    "modalities": (REFUSED, "text only", (["text"],)),
    "audio": (REFUSED, "text only", ()),
    "web_search_options": (REFUSED, "no web search", ()),
    "functions": (REFUSED, "legacy: use tools", ()),
    "function_call": (REFUSED, "legacy: use tool_choice", ()),
}

# The Responses API's parameters: how /v1/responses treats each when it translates to
# Chat Completions (an upstream with `api: responses` gets every one as it came).
RESPONSES: dict[str, str] = {
    "model": "routing, as chat", "input": "translated to messages", "instructions": "a system message first",
    "previous_response_id": "the stored conversation (bounded, in memory) is prepended",
    "tools": "function tools translated (other tool types: 400)", "tool_choice": "translated",
    "parallel_tool_calls": "as chat", "stream": "Responses events", "max_output_tokens": "as max_tokens",
    "temperature": "as chat", "top_p": "as chat", "text": "`format` becomes response_format",
    "store": "kept in cadre's bounded store either way", "metadata": "echoed back",
    "user": "as chat", "prompt_cache_key": "as chat", "safety_identifier": "as chat",
    "service_tier": "as chat", "reasoning": "`effort` becomes reasoning_effort",
    "truncation": "accepted (`disabled` is what cadre does)", "include": "accepted (nothing extra to include)",
    "background": "refused (400)", "conversation": "refused (400)", "prompt": "refused (400)",
}

# Parameters the server or the engine acts on itself: never in a backend's `fields`.
CORE = frozenset({"model", "messages", "stream", "stream_options", "max_tokens", "temperature", "top_p"})
# Acted on by the engine or server for any local model (not by the backend's stream());
# response_format has its own checks (runtime/fields.py: the primary takes over, or a 400).
LOCAL_BY_ENGINE = frozenset({"tools", "tool_choice", "parallel_tool_calls", "stop", "max_completion_tokens",
                             "response_format", "n"})


class UnsupportedParameter(CadreError):
    """A parameter the chosen model cannot honour (a 400 naming it)."""

    def __init__(self, param: str, model: str, why: str):
        known = param in CHAT
        head = f"model {model!r} does not support {param!r}" if known else \
            f"unrecognized request argument {param!r}: model {model!r} does not take it"
        super().__init__(f"{head} ({why}); send it to an upstream model that does, or leave it out")
        self.param, self.code = param, "unsupported_parameter" if known else "unknown_parameter"


def accepts_any(backend) -> bool:
    """A backend that passes every parameter on (an OpenAI-compatible upstream)."""
    return bool(getattr(backend, "accepts_any_field", False))


def refused(fields: dict, backend) -> tuple[str, str] | None:
    """(parameter, why) of the first field a local backend cannot honour, or None."""
    if accepts_any(backend):
        return None
    native = getattr(backend, "passthrough", frozenset())
    for name, value in fields.items():
        if name in native or name in LOCAL_BY_ENGINE:
            continue
        kind, why, noops = CHAT.get(name, (REFUSED, "not a Chat Completions parameter cadre knows", ()))
        if kind == IGNORED or value in noops or value is None:
            continue
        if kind == HONOURED:  # honoured by chat models, not by this one (a Q/A checkpoint, a router)
            why = "this model's backend does not take it"
        return name, why
    return None


def local_fields(fields: dict, backend) -> dict:
    """The fields a local backend's stream() takes."""
    native = getattr(backend, "passthrough", frozenset())
    return {k: v for k, v in fields.items() if k in native}
