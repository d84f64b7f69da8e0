"""The `openai` backend: any OpenAI-compatible HTTP server (vLLM, Ollama, llama.cpp,
OpenAI) through httpx, with timeouts, retries with exponential backoff and SSE streaming.

A refused connection, a timeout or an HTTP error becomes a BackendError naming the model
and the endpoint; only failures before the first streamed byte are retried.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field

from cadre.runtime.backends.base import Backend, TextStream, register_backend
from cadre.runtime.errors import BackendError

_RETRY_STATUS = {429, 500, 502, 503, 504}


class OpenAIOptions(BaseModel):
    """`options:` of an openai model."""

    model_config = ConfigDict(extra="forbid")
    model: str | None = None                 # the server's model name (default: the registry name)
    api_key_env: str | None = None           # environment variable holding the key
    timeout_s: float = Field(60.0, gt=0)     # per read
    connect_timeout_s: float = Field(5.0, gt=0)
    retries: int = Field(2, ge=0, le=10)
    backoff_s: float = Field(0.5, ge=0)
    headers: dict[str, str] = Field(default_factory=dict)
    stream_usage: bool = True                # ask streams for usage (stream_options.include_usage)


class OpenAIBackend(Backend):
    """A remote model behind /v1/chat/completions."""

    Options = OpenAIOptions
    passthrough = frozenset({"tools", "tool_choice", "response_format", "seed", "parallel_tool_calls", "stop"})

    def __init__(self, spec, device: str = "cpu"):
        super().__init__(spec, device)
        self.client = None

    def load(self) -> None:
        """Open the HTTP client (no request is made until the first answer)."""
        import httpx

        opts = self.options
        headers = dict(opts.headers)
        key = os.environ.get(opts.api_key_env) if opts.api_key_env else None
        if opts.api_key_env and not key:
            raise BackendError(f"model {self.spec.name!r}: environment variable {opts.api_key_env} is not set")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.client = httpx.Client(headers=headers,
                                   timeout=httpx.Timeout(opts.timeout_s, connect=opts.connect_timeout_s))
        self.loaded = True

    def unload(self) -> None:
        """Close the HTTP client."""
        if self.client is not None:
            self.client.close()
        self.client = None
        self.loaded = False

    @property
    def endpoint(self) -> str:
        return self.spec.url.rstrip("/") + "/chat/completions"

    def _payload(self, messages, max_tokens, temperature, top_p, stop, stream, **extra) -> dict:
        body = {"model": self.options.model or self.spec.name, "messages": messages,
                "max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "stream": stream}
        if stop:
            body["stop"] = stop
        return {**body, **{k: v for k, v in extra.items() if v is not None}}

    def chat(self, messages, max_tokens=256, temperature=0.0, top_p=1.0, stop=None):
        """One non-streamed answer: (text, usage, finish_reason)."""
        data = self.complete(messages, max_tokens, temperature, top_p, stop)
        choice = data["choices"][0]
        return choice["message"].get("content") or "", _usage(data), choice.get("finish_reason") or "stop"

    def complete(self, messages, max_tokens=256, temperature=0.0, top_p=1.0, stop=None,
                 tools=None, tool_choice=None) -> dict:
        """The raw completion JSON (tools pass through for servers that call them natively)."""
        body = self._payload(messages, max_tokens, temperature, top_p, stop, False,
                             tools=tools, tool_choice=tool_choice)
        response = self._send(body, stream=False)
        try:
            data = response.json()
            data["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BackendError(f"model {self.spec.name!r}: {self.endpoint} returned a malformed answer "
                               f"({response.text[:120]!r})") from None
        return data

    def stream(self, messages, max_tokens=256, temperature=0.0, top_p=1.0, stop=None, cancel=None,
               **fields) -> TextStream:
        """Answer as server-sent events, piece by piece: text pieces, and for native tool
        calls the upstream's `tool_calls` delta entries as dicts. `fields` (tools,
        tool_choice, response_format, seed) go to the upstream as they are."""
        usage = {"include_usage": True} if self.options.stream_usage else None
        body = self._payload(messages, max_tokens, temperature, top_p, stop, True, stream_options=usage, **fields)
        response = self._send(body, stream=True)
        return TextStream(lambda out: self._events(out, response, cancel))

    def _events(self, out: TextStream, response, cancel) -> Iterator[str]:
        import httpx

        ended = False  # a finish_reason or [DONE] seen: a stream that stops before either was cut
        try:
            for line in response.iter_lines():
                if cancel is not None and cancel.is_set():
                    out.finish_reason = "cancelled"
                    return
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                chunk = json.loads(payload)
                if chunk.get("usage"):
                    out.usage = _usage(chunk)
                for choice in chunk.get("choices") or ():
                    if choice.get("finish_reason"):
                        out.finish_reason, ended = choice["finish_reason"], True
                    delta = choice.get("delta") or {}
                    piece = delta.get("content")
                    if piece:
                        out.usage.completion_tokens += 0 if chunk.get("usage") else 1
                        yield piece
                    for call in delta.get("tool_calls") or ():
                        yield dict(call)  # an OpenAI tool-call delta, passed on as it came
            if not ended:
                raise BackendError(f"model {self.spec.name!r}: the stream from {self.endpoint} ended "
                                   "before its finish_reason or [DONE] (truncated)")
        except httpx.TimeoutException:
            raise BackendError(f"model {self.spec.name!r}: {self.endpoint} stopped answering mid-stream "
                               f"(read timeout {self.options.timeout_s:g}s)") from None
        except (httpx.HTTPError, json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise BackendError(f"model {self.spec.name!r}: broken stream from {self.endpoint} ({exc})") from None
        finally:
            response.close()

    def _send(self, body: dict, stream: bool):
        """POST with retries and exponential backoff; returns an OK response."""
        if self.client is None:
            raise BackendError(f"model {self.spec.name!r} is not loaded")
        attempts = self.options.retries + 1
        for attempt in range(attempts):
            error = self._attempt(body, stream)
            if not isinstance(error, BackendError):
                return error
            if not getattr(error, "retryable", True):
                raise error
            if attempt + 1 < attempts:
                time.sleep(self.options.backoff_s * (2 ** attempt))
        raise BackendError(f"{error} (after {attempts} attempt{'s' if attempts > 1 else ''})")

    def _attempt(self, body: dict, stream: bool):
        """One request: the response, or a BackendError describing why it failed."""
        import httpx

        name, url = self.spec.name, self.endpoint
        try:
            request = self.client.build_request("POST", url, json=body)
            response = self.client.send(request, stream=stream)
        except httpx.ConnectError:
            return BackendError(f"model {name!r}: {url} refused the connection")
        except httpx.TimeoutException:
            return BackendError(f"model {name!r}: {url} timed out after {self.options.timeout_s:g}s")
        except httpx.HTTPError as exc:
            return BackendError(f"model {name!r}: request to {url} failed ({exc})")
        if response.status_code >= 400:
            text = response.read().decode("utf-8", "replace")[:200] if stream else response.text[:200]
            response.close()
            error = BackendError(f"model {name!r}: {url} returned HTTP {response.status_code} ({text.strip()!r})")
            error.retryable = response.status_code in _RETRY_STATUS
            return error
        return response


def _usage(data: dict):
    from cadre.runtime.types import Usage

    usage = data.get("usage") or {}
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


register_backend("openai", OpenAIBackend)
