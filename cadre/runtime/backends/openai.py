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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cadre.runtime import timing
from cadre.runtime.backends.base import Backend, TextStream, register_backend
from cadre.runtime.backends.openai_async import (
    AsyncClients,
    AsyncUpstream,
    ends,
    session_factory,
    sse_pieces,
    truncated,
)
from cadre.runtime.backends.openai_async import usage_of as _usage
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
    api: Literal["chat", "responses"] = "chat"  # "responses": /v1/responses is passed on natively


class OpenAIBackend(AsyncUpstream, Backend):
    """A remote model behind /v1/chat/completions.

    One pooled keep-alive client per upstream: `self.client` (httpx) for synchronous
    callers, and one `aiohttp.ClientSession` per event loop for the server's async path
    (`astream`, `awhole` from AsyncUpstream), both built once at load and closed at unload.
    """

    Options = OpenAIOptions
    passthrough = frozenset({"tools", "tool_choice", "response_format", "seed", "parallel_tool_calls", "stop"})
    accepts_any_field = True  # every parameter the client set goes on as it came (runtime/params.py)
    http_upstream = True      # admitted by runtime.remote_max_concurrent / remote_max_queue
    needs_url = True

    def __init__(self, spec, device: str = "cpu"):
        super().__init__(spec, device)
        self.client = None
        self.async_clients: AsyncClients | None = None

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
        timeout = httpx.Timeout(opts.timeout_s, connect=opts.connect_timeout_s)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=256, keepalive_expiry=30)
        self.client = httpx.Client(headers=headers, timeout=timeout, limits=limits)
        self.async_clients = AsyncClients(session_factory(headers, opts.timeout_s, opts.connect_timeout_s))
        self.loaded = True

    def unload(self) -> None:
        """Close the HTTP clients."""
        if self.client is not None:
            self.client.close()
        if self.async_clients is not None:
            self.async_clients.close()
        self.client, self.async_clients = None, None
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

    def chat(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None):
        """One non-streamed answer: (text, usage, finish_reason)."""
        data = self.complete(messages, max_tokens, temperature, top_p, stop)
        choice = data["choices"][0]
        return choice["message"].get("content") or "", _usage(data), choice.get("finish_reason") or "stop"

    def complete(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None,
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

    def stream(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None, cancel=None,
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

        events, junk = 0, None
        ended = False  # a finish_reason or [DONE] seen: a stream that stops before either was cut
        try:
            done = False
            for line in response.iter_lines():
                timing.model_progress()
                if cancel is not None and cancel.is_set():
                    out.finish_reason = "cancelled"
                    return
                if done or not line.startswith("data:"):
                    junk = junk or (None if done else line.strip() or None)
                    continue  # read on to the end, so the connection goes back to the pool
                payload = line[5:].strip()
                if payload == "[DONE]":
                    done = ended = True
                    continue
                events += 1
                chunk = json.loads(payload)
                ended = ended or ends(chunk)
                yield from sse_pieces(out, chunk)
            if not events:  # not an event stream at all (an error page, a JSON body, nothing)
                raise BackendError(f"model {self.spec.name!r}: {self.endpoint} sent no stream events "
                                   f"({(junk or 'empty body')[:120]!r})")
            if not ended:
                raise truncated(self.spec.name)
        except httpx.TimeoutException:
            raise BackendError(f"model {self.spec.name!r}: {self.endpoint} stopped answering mid-stream "
                               f"(read timeout {self.options.timeout_s:g}s)") from None
        except (httpx.HTTPError, json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise BackendError(f"model {self.spec.name!r}: broken stream from {self.endpoint} ({exc})") from None
        finally:
            timing.model_done()
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

        try:
            timing.model_started()
            request = self.client.build_request("POST", self.endpoint, json=body)
            response = self.client.send(request, stream=stream)
            timing.model_progress()
        except httpx.HTTPError as exc:
            timing.model_done()
            return self.transport_error(exc)
        if response.status_code >= 400:
            text = response.read().decode("utf-8", "replace")[:200] if stream else response.text[:200]
            response.close()
            timing.model_done()
            return self.status_error(response.status_code, text)
        if not stream:
            timing.model_done()
        return response

    def transport_error(self, exc) -> BackendError:
        """A BackendError naming the model and the endpoint for a failed request."""
        import httpx

        name, url = self.spec.name, self.endpoint
        if isinstance(exc, httpx.ConnectError):
            return BackendError(f"model {name!r}: {url} refused the connection")
        if isinstance(exc, httpx.TimeoutException):
            return BackendError(f"model {name!r}: {url} timed out after {self.options.timeout_s:g}s")
        return BackendError(f"model {name!r}: request to {url} failed ({exc})")

    def status_error(self, status: int, text: str) -> BackendError:
        """A BackendError for an HTTP error status (retryable for 429 and 5xx)."""
        error = BackendError(f"model {self.spec.name!r}: {self.endpoint} returned HTTP {status} "
                             f"({text.strip()!r})")
        error.retryable = status in _RETRY_STATUS
        error.upstream_status, error.upstream_message = status, f"model {self.spec.name!r}: the upstream " \
            f"refused the request (HTTP {status}): {_error_message(text)}"
        return error


def _error_message(text: str) -> str:
    """The message of an upstream's OpenAI error JSON, else its text."""
    try:
        return str(json.loads(text)["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return text.strip()[:200]


register_backend("openai", OpenAIBackend)
