"""The `openai` backend: any OpenAI-compatible HTTP server (vLLM, Ollama, llama.cpp,
OpenAI), with timeouts, retries with exponential backoff and SSE streaming.

One streaming contract: `astream` (and `awhole`, `ajson`, `aevents`) are awaited on the
caller's event loop; the synchronous `stream`, `chat` and `complete` run the very same
coroutines on a background loop (backends/openai_wire.SyncLoop). A refused connection, a
timeout or an HTTP error becomes a BackendError naming the model and the endpoint; only
failures before the first streamed byte are retried.
"""
from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cadre.runtime.backends import openai_wire as wire
from cadre.runtime.backends.base import Backend, TextStream, register_backend
from cadre.runtime.errors import BackendError
from cadre.runtime.types import Usage


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
    api: Literal["chat", "responses"] = "chat"  # "responses": /v1/responses is passed on natively


class AsyncStream:
    """Pieces of one streamed answer; `usage` and `finish_reason` are final once exhausted."""

    def __init__(self):
        self.usage, self.finish_reason = Usage(), "stop"


class OpenAIBackend(Backend):
    """A remote model behind /v1/chat/completions: one pooled keep-alive aiohttp session
    per event loop (built at load, closed at unload)."""

    Options = OpenAIOptions
    passthrough = frozenset({"tools", "tool_choice", "response_format", "seed", "parallel_tool_calls", "stop"})
    accepts_any_field = True  # every parameter the client set goes on as it came (runtime/params.py)
    http_upstream = True      # admitted by runtime.remote_max_concurrent / remote_max_queue
    supports_async = True     # answered on the caller's event loop (runtime/answer.py)
    needs_url = True

    def __init__(self, spec, device: str = "cpu"):
        super().__init__(spec, device)
        self.async_clients: wire.AsyncClients | None = None

    def load(self) -> None:
        """Open the HTTP clients (no request is made until the first answer)."""
        opts = self.options
        headers = dict(opts.headers)
        key = os.environ.get(opts.api_key_env) if opts.api_key_env else None
        if opts.api_key_env and not key:
            raise BackendError(f"model {self.spec.name!r}: environment variable {opts.api_key_env} is not set")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.async_clients = wire.AsyncClients(wire.session_factory(headers, opts.timeout_s, opts.connect_timeout_s))
        self.loaded = True

    def unload(self) -> None:
        """Close the HTTP clients."""
        if self.async_clients is not None:
            self.async_clients.close()
        self.async_clients = None
        self.loaded = False

    @property
    def endpoint(self) -> str:
        return self.spec.url.rstrip("/") + "/chat/completions"

    def url_of(self, path: str) -> str:
        """The upstream URL of an API path ("/chat/completions", "/responses")."""
        return self.spec.url.rstrip("/") + path

    @property
    def upstream_model(self) -> str:
        return self.options.model or self.spec.name

    def _payload(self, messages, max_tokens, temperature, top_p, stop, stream, **extra) -> dict:
        """The request body: only what was set (nothing the client left out is added)."""
        body = {"model": self.upstream_model, "messages": messages, "stream": stream}
        sampling = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "stop": stop or None}
        return {**body, **{k: v for k, v in {**sampling, **extra}.items() if v is not None}}

    # ------------------------------------------------------------------ the async contract
    async def astream(self, out: AsyncStream, messages, max_tokens=None, temperature=None, top_p=None,
                      stop=None, **fields) -> AsyncIterator:
        """The answer as it streams in: text pieces, and for native tool calls the
        upstream's `tool_calls` delta entries as dicts. `fields` (tools, tool_choice,
        response_format, seed) go upstream as they are; usage and finish_reason go to `out`."""
        usage = {"include_usage": True} if self.options.stream_usage else None  # the upstream's own counts
        body = self._payload(messages, max_tokens, temperature, top_p, stop, True, stream_options=usage, **fields)
        response = await wire.send(self, body, True, self.endpoint)
        async for event in wire.events(self, response, self.endpoint, require_end=True):
            for piece in wire.sse_pieces(out, event):
                yield piece

    async def awhole(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None):
        """One non-streamed answer: (text, usage, finish_reason)."""
        data = await self.acomplete(messages, max_tokens, temperature, top_p, stop)
        choice = data["choices"][0]
        return choice["message"].get("content") or "", wire.usage_of(data), choice.get("finish_reason") or "stop"

    async def acomplete(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None,
                        tools=None, tool_choice=None) -> dict:
        """The raw completion JSON (tools pass through for servers that call them natively)."""
        body = self._payload(messages, max_tokens, temperature, top_p, stop, False, tools=tools,
                             tool_choice=tool_choice)
        raw = await wire.send(self, body, False, self.endpoint)
        try:
            data = json.loads(raw)
            data["choices"][0]["message"].get
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise BackendError(f"model {self.spec.name!r}: {self.endpoint} returned a malformed answer "
                               f"({raw.decode('utf-8', 'replace')[:120]!r})") from None
        return data

    async def ajson(self, body: dict, path: str = "/chat/completions") -> dict:
        """The upstream's whole JSON answer to `body` (its `model` set to the upstream's name)."""
        url = self.url_of(path)
        raw = await wire.send(self, {**body, "model": self.upstream_model}, False, url)
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise BackendError(f"model {self.spec.name!r}: {url} returned a malformed answer "
                               f"({raw.decode('utf-8', 'replace')[:120]!r})")
        return data

    async def aevents(self, body: dict, path: str = "/chat/completions") -> AsyncIterator[dict]:
        """The upstream's server-sent events for `body`, as dicts, up to [DONE] or the end."""
        url = self.url_of(path)
        response = await wire.send(self, {**body, "model": self.upstream_model}, True, url)
        async for event in wire.events(self, response, url, require_end=False):
            yield event

    # ------------------------------------------------------------------ the same, synchronously
    def stream(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None, cancel=None,
               **fields) -> TextStream:
        """`astream` for a worker thread; a set `cancel` ends it at the next piece."""
        def pieces(out: TextStream):
            agen = self.astream(out, messages, max_tokens, temperature, top_p, stop, **fields)
            yield from wire.SyncLoop.iterate(agen, cancel)
            if cancel is not None and cancel.is_set():
                out.finish_reason = "cancelled"
        return TextStream(pieces)

    def chat(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None):
        """`awhole` for a worker thread: (text, usage, finish_reason)."""
        return wire.SyncLoop.run(self.awhole(messages, max_tokens, temperature, top_p, stop))

    def complete(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None,
                 tools=None, tool_choice=None) -> dict:
        """`acomplete` for a worker thread."""
        return wire.SyncLoop.run(self.acomplete(messages, max_tokens, temperature, top_p, stop, tools, tool_choice))

    def status_error(self, status: int, text: str) -> BackendError:
        """A BackendError for an HTTP error status (retryable for 429 and 5xx)."""
        return wire.status_error(self.spec.name, self.endpoint, status, text)


register_backend("openai", OpenAIBackend)
