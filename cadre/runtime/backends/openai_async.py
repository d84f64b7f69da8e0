"""The `openai` backend's async path: the server awaits upstream calls on its event loop
instead of parking a worker thread per request, through one pooled keep-alive
`aiohttp.ClientSession` per event loop (a session's connections belong to the loop that
made them). Streams are passed on chunk by chunk as they arrive; whole answers are asked
for whole (no SSE round trip). Errors, retries and backoff match the synchronous path.

aiohttp rather than httpx.AsyncClient: against the stub upstream, httpx's async client
cost 0.9 ms of CPU per request at 1 client and 1.9 ms at 64, aiohttp 0.2 ms at both
(client and stub together, measured on the shared 2-core machine; see docs/serve.md).
"""
from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Iterator

from cadre.runtime import timing
from cadre.runtime.errors import BackendError
from cadre.runtime.types import Usage

log = logging.getLogger("cadre.runtime")


def usage_of(data: dict) -> Usage:
    """OpenAI's usage object as a Usage (zeros when absent)."""
    usage = data.get("usage") or {}
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


def sse_pieces(out, chunk: dict) -> Iterator[str | dict]:
    """The pieces of one SSE chunk: text, and for native tool calls the upstream's
    `tool_calls` delta entries as dicts, passed on as they came; usage and
    finish_reason go to `out`."""
    if chunk.get("usage"):
        out.usage = usage_of(chunk)
    for choice in chunk.get("choices") or ():
        if choice.get("finish_reason"):
            out.finish_reason = choice["finish_reason"]
        delta = choice.get("delta") or {}
        piece = delta.get("content")
        if piece:
            out.usage.completion_tokens += 0 if chunk.get("usage") else 1
            yield piece
        for call in delta.get("tool_calls") or ():
            yield dict(call)


def ends(chunk: dict) -> bool:
    """Whether an SSE chunk carries a finish_reason (a stream that stops before one, or
    before [DONE], was cut)."""
    return any(c.get("finish_reason") for c in chunk.get("choices") or ())


def truncated(name: str) -> BackendError:
    """A stream cut before its end; safe to show the client (no address in it)."""
    return BackendError(f"model {name!r}: the upstream's stream ended before its finish_reason or [DONE] "
                        "(truncated)", client_safe=True)


def session_factory(headers: dict, timeout_s: float, connect_timeout_s: float):
    """A function making the aiohttp session of one loop (keep-alive, no pool limit: the
    manager's per-model queue is the limit)."""
    def make():
        import aiohttp

        return aiohttp.ClientSession(
            headers={**headers, "content-type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s, sock_read=timeout_s),
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30), json_serialize=json.dumps)
    return make


class AsyncClients:
    """One client per running event loop, made on first use there, closed together."""

    def __init__(self, factory):
        self.factory = factory
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self):
        """The client of the running loop."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = self.factory()
        return client

    async def aclose_current(self) -> None:
        """Close the running loop's client (before that loop ends)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def close(self) -> None:
        """Close every client on its own loop (from any thread); idle pools just go."""
        for loop, client in list(self._clients.items()):
            if loop.is_running():
                loop.call_soon_threadsafe(lambda c=client: asyncio.ensure_future(c.close()))
        self._clients.clear()


class AsyncStream:
    """Pieces of one streamed answer; `usage` and `finish_reason` are final once exhausted."""

    def __init__(self):
        self.usage, self.finish_reason = Usage(), "stop"


class AsyncUpstream:
    """Mixin for OpenAIBackend: `awhole` and `astream`, awaited on the server's loop."""

    supports_async = True

    async def awhole(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None):
        """One non-streamed answer: (text, usage, finish_reason)."""
        body = self._payload(messages, max_tokens, temperature, top_p, stop, False)
        raw = await self._asend(body, stream=False)
        try:
            data = json.loads(raw)
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise BackendError(f"model {self.spec.name!r}: {self.endpoint} returned a malformed answer "
                               f"({raw[:120]!r})") from None
        return text, usage_of(data), choice.get("finish_reason") or "stop"

    async def astream(self, out: AsyncStream, messages, max_tokens=None, temperature=None, top_p=None,
                      stop=None) -> AsyncIterator[str]:
        """The answer as it streams in, piece by piece (an async generator)."""
        import aiohttp

        usage = {"include_usage": True} if self.options.stream_usage else None  # the upstream's own counts
        body = self._payload(messages, max_tokens, temperature, top_p, stop, True, stream_options=usage)
        response = await self._asend(body, stream=True)
        finished = ended = False
        try:
            done = False
            async for raw in response.content:
                timing.model_progress()
                line = raw.decode("utf-8", "replace").strip()
                if done or not line.startswith("data:"):
                    continue  # read on to the end, so the connection goes back to the pool
                payload = line[5:].strip()
                if payload == "[DONE]":
                    done = ended = True
                    continue
                chunk = json.loads(payload)
                ended = ended or ends(chunk)
                for piece in sse_pieces(out, chunk):
                    yield piece
            finished = True
            if not ended:
                raise truncated(self.spec.name)
        except TimeoutError:
            raise BackendError(f"model {self.spec.name!r}: {self.endpoint} stopped answering mid-stream "
                               f"(read timeout {self.options.timeout_s:g}s)") from None
        except (aiohttp.ClientError, json.JSONDecodeError) as exc:
            raise BackendError(f"model {self.spec.name!r}: broken stream from {self.endpoint} ({exc})") from None
        finally:
            timing.model_done()
            # read to the end: the connection is reused; cut short: it is dropped
            response.release() if finished else response.close()

    async def ajson(self, body: dict, path: str = "/chat/completions") -> dict:
        """The upstream's whole JSON answer to `body` (its `model` set to the upstream's name)."""
        url = self.url_of(path)
        raw = await self._asend({**body, "model": self.upstream_model}, stream=False, url=url)
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise BackendError(f"model {self.spec.name!r}: {url} returned a malformed answer ({raw[:120]!r})")
        return data

    async def aevents(self, body: dict, path: str = "/chat/completions") -> AsyncIterator[dict]:
        """The upstream's server-sent events for `body`, as dicts, up to [DONE] or the end."""
        import aiohttp

        url = self.url_of(path)
        response = await self._asend({**body, "model": self.upstream_model}, stream=True, url=url)
        finished = False
        try:
            async for raw in response.content:
                timing.model_progress()
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                yield json.loads(payload)
            finished = True
        except TimeoutError:
            raise BackendError(f"model {self.spec.name!r}: {url} stopped answering mid-stream "
                               f"(read timeout {self.options.timeout_s:g}s)") from None
        except (aiohttp.ClientError, json.JSONDecodeError) as exc:
            raise BackendError(f"model {self.spec.name!r}: broken stream from {url} ({exc})") from None
        finally:
            timing.model_done()
            response.release() if finished else response.close()

    async def _asend(self, body: dict, stream: bool, url: str | None = None):
        """POST with retries and exponential backoff; returns an OK response."""
        if self.async_clients is None:
            raise BackendError(f"model {self.spec.name!r} is not loaded")
        attempts = self.options.retries + 1
        for attempt in range(attempts):
            result = await self._aattempt(body, stream, url or self.endpoint)
            if not isinstance(result, BackendError):
                return result
            if not getattr(result, "retryable", True):
                raise result
            if attempt + 1 < attempts:
                await asyncio.sleep(self.options.backoff_s * (2 ** attempt))
        raise BackendError(f"{result} (after {attempts} attempt{'s' if attempts > 1 else ''})")

    async def _aattempt(self, body: dict, stream: bool, url: str):
        """One request: the response (streams) or the body bytes (whole answers), or a
        BackendError describing why it failed."""
        import aiohttp

        session = self.async_clients.get()
        timing.model_started()
        response = None
        try:
            response = await session.post(url, json=body)
            timing.model_progress()
            if response.status >= 400:
                text = (await response.read()).decode("utf-8", "replace")[:200]
                return self.status_error(response.status, text)
            if stream:
                return response
            return await response.read()
        except aiohttp.ClientConnectorError:
            return BackendError(f"model {self.spec.name!r}: {url} refused the connection")
        except TimeoutError:
            return BackendError(f"model {self.spec.name!r}: {url} timed out after "
                                f"{self.options.timeout_s:g}s")
        except aiohttp.ClientError as exc:
            return BackendError(f"model {self.spec.name!r}: request to {url} failed ({exc})")
        finally:
            if not stream or (response is not None and response.status >= 400):
                timing.model_done()
                if response is not None:
                    response.release()
