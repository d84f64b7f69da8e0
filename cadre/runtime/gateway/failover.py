"""Failover across a learned router's ranking, with LiteLLM-style cool-downs.

`FailoverBackend` looks like one backend to the engine: `chat` and `stream` try the ranked
models in turn. A model that refuses, times out, answers 5xx/429, returns malformed JSON
or fails to load hands the request to the next one. A stream fails over only before its
first piece; after that, the error reaches the client as a clean error event. Models in
cool-down are tried last, so a request fails only when no candidate can answer.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from cadre.runtime.backends.base import TextStream
from cadre.runtime.errors import BackendError, BudgetError, Overloaded

FAILOVER_ERRORS = (BackendError, BudgetError, Overloaded)
log = logging.getLogger("cadre.runtime")


class CoolingView:
    """Reads of a cool-down table (`_until`: model → end time, under `_lock`, on `clock`),
    shared by this process's Cooldowns and a Ray replica's copy of the shared board."""

    def cooling(self, name: str) -> bool:
        """Whether a model is cooling down now."""
        with self._lock:
            return self._until.get(name, 0.0) > self.clock()

    def order(self, ranking: list[str]) -> list[str]:
        """The ranking with cooling models moved to the end (kept as a last resort)."""
        hot = [n for n in ranking if self.cooling(n)]
        return [n for n in ranking if n not in hot] + hot

    def snapshot(self) -> dict:
        """Models cooling now → seconds left."""
        now = self.clock()
        with self._lock:
            return {n: round(t - now, 1) for n, t in self._until.items() if t > now}


class Cooldowns(CoolingView):
    """Failures per model in a sliding window; K failures in T seconds cool a model for C."""

    def __init__(self, allowed_fails: int = 3, window_s: float = 60.0, cooldown_s: float = 30.0,
                 clock=time.monotonic):
        self.allowed, self.window, self.cooldown, self.clock = allowed_fails, window_s, cooldown_s, clock
        self._fails: dict[str, deque] = {}
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()
        self.cooldowns_started = 0

    def failed(self, name: str) -> bool:
        """Count one failure; True when it starts a cool-down."""
        now = self.clock()
        with self._lock:
            fails = self._fails.setdefault(name, deque())
            fails.append(now)
            while fails and fails[0] < now - self.window:
                fails.popleft()
            if len(fails) >= self.allowed and self.cooldown > 0:
                self._until[name] = now + self.cooldown
                fails.clear()
                self.cooldowns_started += 1
                return True
        return False


@dataclass
class Attempts:
    """What one request went through: the model that answered and every failure before it."""

    answered: str | None = None
    fallbacks: list[dict] = field(default_factory=list)

    def note(self) -> str:
        """The reason's failover suffix, e.g. ' → a failed (HTTP 500) → b'."""
        return "".join(f" → {f['model']} failed ({_short(f['error'])})" for f in self.fallbacks) + (
            f" → {self.answered}" if self.fallbacks and self.answered else "")


class FailoverBackend:
    """Tries `ranking` in order through the manager; holds at most one model at a time."""

    def __init__(self, manager, ranking: list[str], cooldowns: Cooldowns, on_answer=None):
        self.manager, self.cooldowns, self.on_answer = manager, cooldowns, on_answer
        self.ranking = cooldowns.order(ranking)
        self.attempts = Attempts()
        self.held: str | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ holding models
    def acquire_first(self):
        """Acquire the first model that loads (at plan time); raises when none can."""
        return self._next_backend(0)[1]

    def _next_backend(self, start: int):
        for i in range(start, len(self.ranking)):
            name = self.ranking[i]
            try:
                backend = self.manager.acquire(name)
            except FAILOVER_ERRORS as exc:
                self._failed(name, exc)
                continue
            with self._lock:
                self.held = name
            return i, backend
        raise self._all_failed()

    def release(self) -> None:
        """Release the model held now (idempotent)."""
        with self._lock:
            name, self.held = self.held, None
        if name is not None:
            self.manager.release(name)

    def _failed(self, name: str, exc: Exception) -> None:
        cooled = self.cooldowns.failed(name) if not isinstance(exc, Overloaded) else False
        self.attempts.fallbacks.append({"model": name, "error": str(exc), "cooled_down": cooled})

    def _all_failed(self) -> BackendError:
        """The request's error: the models tried, by name, for the client; why each
        failed (addresses, upstream messages) goes to the server log."""
        tried = "; ".join(f"{f['model']}: {_short(f['error'])}" for f in self.attempts.fallbacks)
        log.warning("no candidate model could answer: %s", tried or "no candidates")
        names = ", ".join(dict.fromkeys(f["model"] for f in self.attempts.fallbacks)) or "none"
        return BackendError(f"no candidate model could answer (tried {names})", client_safe=True)

    def _answered(self, name: str) -> None:
        self.attempts.answered = name
        if self.on_answer is not None:
            self.on_answer(name, self.attempts)

    # ------------------------------------------------------------ the backend contract
    @property
    def passthrough(self) -> frozenset:
        """The client fields (tools, response_format...) every candidate takes natively, so
        whichever model answers honours them."""
        from cadre.runtime.backends.base import get_backend

        sets = [getattr(get_backend(self.manager.registry.get(n).backend), "passthrough", None) or frozenset()
                for n in self.ranking]
        return frozenset.intersection(*sets) if sets else frozenset()

    @property
    def accepts_any_field(self) -> bool:
        """Every candidate passes every parameter on (all are OpenAI-compatible upstreams)."""
        return self._all("accepts_any_field")

    @property
    def supports_async(self) -> bool:
        return self._all("ajson")

    def _all(self, attribute: str) -> bool:
        from cadre.runtime.backends.base import get_backend

        return bool(self.ranking) and all(hasattr(get_backend(self.manager.registry.get(n).backend), attribute)
                                          and getattr(get_backend(self.manager.registry.get(n).backend), attribute)
                                          for n in self.ranking)

    async def ajson(self, body: dict, path: str = "/chat/completions") -> dict:
        """The first candidate's whole answer that succeeds (the proxy's whole request)."""
        return await self._afirst(lambda backend: backend.ajson(body, path))

    async def aevents(self, body: dict, path: str = "/chat/completions"):
        """Events from the first candidate whose stream starts; later failures propagate."""
        async def start(backend):
            events = backend.aevents(body, path)
            try:
                return events, await anext(events)
            except StopAsyncIteration:
                return events, None
        events, first = await self._afirst(start)
        if first is not None:
            yield first
            async for event in events:
                yield event

    async def _afirst(self, call):
        """`_first_answer` for awaitable calls (acquiring a remote model does not block)."""
        i = self.ranking.index(self.held) if self.held else 0
        backend = None if self.held is None else self.manager.slots[self.held].backend
        while True:
            if backend is None:
                i, backend = self._next_backend(i)
            name = self.ranking[i]
            try:
                out = await call(backend)
            except FAILOVER_ERRORS as exc:
                self._failed(name, exc)
                self.release()
                backend, i = None, i + 1
                continue
            self._answered(name)
            return out

    def _first_answer(self, call):
        """`call(backend)` on the held model, then down the ranking until one answers;
        returns its result (a model that fails is counted and released first)."""
        i = self.ranking.index(self.held) if self.held else 0
        backend = None if self.held is None else self.manager.slots[self.held].backend
        while True:
            if backend is None:
                i, backend = self._next_backend(i)
            name = self.ranking[i]
            try:
                out = call(backend)
            except FAILOVER_ERRORS as exc:
                self._failed(name, exc)
                self.release()
                backend, i = None, i + 1
                continue
            self._answered(name)
            return out

    def chat(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None):
        """(text, usage, finish_reason) from the first model that answers."""
        return self._first_answer(lambda backend: backend.chat(messages, max_tokens=max_tokens,
                                                               temperature=temperature, top_p=top_p))

    def stream(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None, cancel=None, **fields):
        """Pieces from the first model whose stream starts; failures after the first piece
        propagate (the server turns them into an error event)."""
        def start(backend):
            inner = backend.stream(messages, max_tokens, temperature, top_p, stop=stop, cancel=cancel, **fields)
            it = iter(inner)
            return inner, it, next(it, None)  # a stream that fails before its first piece fails over

        def pieces(out: TextStream):
            inner, it, first = self._first_answer(start)
            if first is not None:
                yield first
            yield from it
            out.usage, out.finish_reason = inner.usage, inner.finish_reason
        return TextStream(pieces)


def _short(text: str) -> str:
    text = str(text)
    return text if len(text) <= 100 else text[:97] + "..."
