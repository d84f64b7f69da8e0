"""The `openai` backend's wire, written once: one pooled aiohttp client per event loop,
one retry loop with exponential backoff, one SSE parser, one error mapping. The backend
(backends/openai.py) awaits these on the server's loop; its synchronous forms run the
same coroutines on one background loop (`SyncLoop`), so both paths behave alike.

aiohttp rather than httpx: against the stub upstream, httpx's async client cost 0.9 ms of
CPU per request at 1 client and 1.9 ms at 64, aiohttp 0.2 ms at both (client and stub
together, measured on the shared 2-core machine; see docs/serve.md).
"""
from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import weakref
from collections.abc import AsyncIterator, Iterator

from cadre.runtime import timing
from cadre.runtime.errors import BackendError
from cadre.runtime.types import Usage

RETRY_STATUS = {429, 500, 502, 503, 504}


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


class Events:
    """The one SSE parser: `data:` lines of a response body in, event dicts out, up to
    [DONE]; what came that was not an event is kept to say so (an error page, nothing)."""

    def __init__(self):
        self.count, self.done, self.junk = 0, False, None

    def feed(self, raw: bytes) -> dict | None:
        """One line: its event, or None (a comment, a blank, [DONE], or after [DONE])."""
        line = raw.decode("utf-8", "replace").strip()
        if self.done or not line.startswith("data:"):
            self.junk = self.junk or (None if self.done else line or None)
            return None
        payload = line[5:].strip()
        if payload == "[DONE]":
            self.done = True
            return None
        self.count += 1
        return json.loads(payload)


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


class SyncLoop:
    """One background event loop for synchronous callers (the Python API, tool loops,
    worker threads): each call runs the async path's coroutine there, in the caller's
    context (so request timing still sees it)."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="cadre-upstream", daemon=True).start()
            return cls._loop

    @classmethod
    def run(cls, coro):
        """Await `coro` on the background loop; its result, or its exception."""
        import concurrent.futures

        done: concurrent.futures.Future = concurrent.futures.Future()
        ctx = contextvars.copy_context()

        def settle(task: asyncio.Task) -> None:
            if task.cancelled():
                done.cancel()
            elif task.exception() is not None:
                done.set_exception(task.exception())
            else:
                done.set_result(task.result())

        def start():  # runs in `ctx`: the task made here copies it
            asyncio.ensure_future(coro).add_done_callback(settle)
        cls.loop().call_soon_threadsafe(start, context=ctx)
        return done.result()

    @classmethod
    def iterate(cls, agen: AsyncIterator, cancel=None) -> Iterator:
        """An async generator's items, pulled one by one; closing the iterator (or the
        cancel flag) closes the generator on its loop."""
        try:
            while cancel is None or not cancel.is_set():
                try:
                    yield cls.run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            cls.run(agen.aclose())


async def send(backend, body: dict, stream: bool, url: str):
    """POST with retries and exponential backoff; an OK response (streams) or the body bytes."""
    attempts = backend.options.retries + 1
    for attempt in range(attempts):
        result = await _attempt(backend, body, stream, url)
        if not isinstance(result, BackendError):
            return result
        if not getattr(result, "retryable", True):
            raise result
        if attempt + 1 < attempts:
            await asyncio.sleep(backend.options.backoff_s * (2 ** attempt))
    raise BackendError(f"{result} (after {attempts} attempt{'s' if attempts > 1 else ''})")


async def _attempt(backend, body: dict, stream: bool, url: str):
    """One request: the response (streams) or the body bytes (whole answers), or a
    BackendError describing why it failed."""
    import aiohttp

    if backend.async_clients is None:
        raise BackendError(f"model {backend.spec.name!r} is not loaded")
    session = backend.async_clients.get()
    timing.model_started()
    response = None
    name, timeout = backend.spec.name, backend.options.timeout_s
    try:
        response = await session.post(url, json=body)
        timing.model_progress()
        if response.status >= 400:
            text = (await response.read()).decode("utf-8", "replace")[:200]
            return status_error(name, url, response.status, text)
        if stream:
            return response
        return await response.read()
    except aiohttp.ClientConnectorError:
        return BackendError(f"model {name!r}: {url} refused the connection")
    except TimeoutError:
        return BackendError(f"model {name!r}: {url} timed out after {timeout:g}s")
    except aiohttp.ClientError as exc:
        return BackendError(f"model {name!r}: request to {url} failed ({exc})")
    finally:
        if not stream or (response is not None and response.status >= 400):
            timing.model_done()
            if response is not None:
                response.release()


async def events(backend, response, url: str, require_end: bool) -> AsyncIterator[dict]:
    """The events of a streamed response; a body with none, or (with `require_end`) one
    cut before its finish_reason or [DONE], is a BackendError. The body is read to its
    end so the connection goes back to the pool; one cut short is dropped."""
    import aiohttp

    name, parser, finished, ended = backend.spec.name, Events(), False, False
    try:
        async for raw in response.content:
            timing.model_progress()
            event = parser.feed(raw)
            if event is not None:
                ended = ended or ends(event)
                yield event
        finished = True
        if require_end and not parser.count:  # not an event stream at all (an error page, a JSON body, nothing)
            raise BackendError(f"model {name!r}: {url} sent no stream events "
                               f"({(parser.junk or 'empty body')[:120]!r})")
        if require_end and not (ended or parser.done):
            raise truncated(name)
    except TimeoutError:
        raise BackendError(f"model {name!r}: {url} stopped answering mid-stream "
                           f"(read timeout {backend.options.timeout_s:g}s)") from None
    except (aiohttp.ClientError, json.JSONDecodeError, AttributeError, TypeError) as exc:
        raise BackendError(f"model {name!r}: broken stream from {url} ({exc})") from None
    finally:
        timing.model_done()
        response.release() if finished else response.close()


def status_error(name: str, url: str, status: int, text: str) -> BackendError:
    """A BackendError for an HTTP error status (retryable for 429 and 5xx)."""
    error = BackendError(f"model {name!r}: {url} returned HTTP {status} ({text.strip()!r})")
    error.retryable = status in RETRY_STATUS
    error.upstream_status, error.upstream_message = status, f"model {name!r}: the upstream " \
        f"refused the request (HTTP {status}): {_error_message(text)}"
    return error


def _error_message(text: str) -> str:
    """The message of an upstream's OpenAI error JSON, else its text."""
    try:
        return str(json.loads(text)["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return text.strip()[:200]
