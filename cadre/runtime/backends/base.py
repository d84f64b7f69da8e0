"""The backend contract: chat messages in, text out (streamed or not), and the memory the
loaded model takes. Backends register the way plugins do: one line each, a duplicate
name is rejected, and outside packages add theirs through the `cadre.backends`
entry-point group (`name = "package.module:BackendClass"`).

Only cadre.runtime.manager calls `load()` and `unload()`.
"""
from __future__ import annotations

import importlib
import importlib.metadata as md
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from cadre.errors import CadreError
from cadre.runtime.types import Usage

log = logging.getLogger("cadre.runtime")
ENTRY_POINT_GROUP = "cadre.backends"
BUILTIN_MODULES = ("cadre.runtime.backends.local", "cadre.runtime.backends.openai",
                   "cadre.runtime.backends.onnx")


class NoOptions(BaseModel):
    """A backend without options: any key given is an error."""

    model_config = ConfigDict(extra="forbid")


class TextStream:
    """Text pieces of one answer; `usage` and `finish_reason` are final once exhausted."""

    def __init__(self, pieces: Callable[[TextStream], Iterator[str]]):
        self.usage = Usage()
        self.finish_reason = "stop"
        self.logprobs: list[dict] | None = None  # OpenAI's logprobs.content, when asked and computed
        self._pieces = pieces(self)

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def text(self) -> str:
        """Consume the stream and return the whole answer."""
        return "".join(self._pieces)


DEFAULT_MAX_TOKENS = 256  # a local model's completion length when the client names none


def local_sampling(max_tokens, temperature, top_p) -> tuple[int, float, float]:
    """A local model's sampling with its defaults for what the client left unset (greedy,
    256 tokens): an upstream gets only what was set, a local model must decide."""
    return (max_tokens or DEFAULT_MAX_TOKENS, 0.0 if temperature is None else temperature,
            1.0 if top_p is None else top_p)


def message_text(content) -> str:
    """The text of an OpenAI message content (a string, or a list of typed parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content
                     if isinstance(part, dict) and part.get("type") == "text")


def last_user_text(messages: list[dict]) -> str:
    """The latest user message's text (what single-turn specialists answer)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return message_text(messages[-1].get("content")) if messages else ""


class Backend(ABC):
    """One model behind one contract. Subclasses set `Options` for their `options:` keys."""

    name: ClassVar[str] = "base"
    Options: ClassVar[type[BaseModel]] = NoOptions
    # Request fields `stream(..., **fields)` acts on (tools, tool_choice, response_format,
    # seed, parallel_tool_calls); the engine passes a backend only the ones it names here.
    passthrough: ClassVar[frozenset[str]] = frozenset()
    # True for a backend whose model lives in another process even when its spec has a path
    # (the manager charges it no memory): `cadre serve --ray`'s forwarding backend.
    elsewhere: ClassVar[bool] = False
    # An HTTP upstream holds no local slots: the manager admits it by runtime.remote_max_*.
    http_upstream: ClassVar[bool] = False
    # What the backend is, read instead of comparing names (runtime/backends/identity.py;
    # cadre.model_row.BACKEND_LOCATION says the same of the built-ins for the project file).
    needs_path: ClassVar[bool] = False   # loads `path` (folder, file or hub name) in this process
    needs_url: ClassVar[bool] = False    # an HTTP upstream at `url`, the server's /v1 base
    quantizable: ClassVar[bool] = False  # runtime.quantize_int8 applies to its weights
    # The backend that serves a saved router folder named with this one (None: routers are
    # not special here), so one class serves every router (runtime/backends/identity.py).
    routers_served_by: ClassVar[str | None] = None

    def __init__(self, spec, device: str = "cpu"):
        self.spec, self.device = spec, device
        try:
            self.options = self.Options.model_validate(spec.options or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise CadreError(f"model {spec.name!r}: options.{where}: {first['msg']}") from None
        self.loaded = False
        self._lock = threading.Lock()  # tokenizers are not safe to share across threads

    @classmethod
    def prepare(cls) -> None:
        """Import heavy libraries, so a load's measured footprint is the model's alone."""

    @abstractmethod
    def load(self) -> None:
        """Load the model into memory (raise BackendError with a clear message on failure)."""

    def unload(self) -> None:
        """Drop every reference to the model so its memory can be freed."""
        self.loaded = False

    @abstractmethod
    def stream(self, messages: list[dict], max_tokens: int | None = None, temperature: float | None = None,
               top_p: float | None = None, stop: list[str] | None = None,
               cancel: threading.Event | None = None) -> TextStream:
        """Answer chat messages piece by piece."""

    def chat(self, messages: list[dict], max_tokens: int | None = None, temperature: float | None = None,
             top_p: float | None = None, stop: list[str] | None = None) -> tuple[str, Usage, str]:
        """Answer chat messages: (text, usage, finish_reason)."""
        stream = self.stream(messages, max_tokens, temperature, top_p, stop)
        text = stream.text()
        return text, stream.usage, stream.finish_reason

    def invoke(self, prompt: str, max_tokens: int | None = None, **sampling) -> str:
        """The one-call form: a prompt in, the answer text out."""
        return self.chat([{"role": "user", "content": prompt}], max_tokens, **sampling)[0]

    def estimate_bytes(self) -> int | None:
        """Memory the model will take once loaded, guessed before loading (None: unknown)."""
        return None

    def tensor_bytes(self) -> int:
        """Bytes of the loaded model's parameters and buffers (0 for remote models)."""
        return 0

    def route(self, text: str):
        """Routers only: the RouteChoice for a text."""
        raise CadreError(f"model {self.spec.name!r} is not a router")


BACKENDS: dict[str, type[Backend]] = {}
_discovered = False
_discover_lock = threading.Lock()


def register_backend(name: str, cls: type[Backend]) -> None:
    """Register a backend class under a name; a duplicate name is rejected."""
    if name in BACKENDS:
        raise ValueError(f"backend {name!r} is already registered (by {BACKENDS[name].__module__})")
    cls.name = name
    BACKENDS[name] = cls


def _discover() -> None:
    """Import the built-ins, then load outside backends from entry points (once)."""
    global _discovered
    with _discover_lock:
        if _discovered:
            return
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        for ep in md.entry_points(group=ENTRY_POINT_GROUP):
            try:
                register_backend(ep.name, ep.load())
            except ValueError as exc:
                log.warning("backend plugin %s ignored: %s", ep.value, exc)
            except Exception as exc:  # a broken plugin must not take down the built-ins
                log.warning("backend plugin %s failed to load: %s", ep.value, exc)
        _discovered = True


def get_backend(name: str) -> type[Backend]:
    """The backend class registered under a name (built-in or plugin)."""
    if name not in BACKENDS:
        _discover()
    if name not in BACKENDS:
        raise CadreError(f"unknown backend {name!r}; registered: {', '.join(sorted(BACKENDS))}")
    return BACKENDS[name]


def elsewhere(name: str) -> bool:
    """Whether a registered backend's models live in another process (Backend.elsewhere)."""
    return bool(getattr(BACKENDS.get(name), "elsewhere", False))


def backend_names() -> list[str]:
    """Every registered backend name."""
    _discover()
    return sorted(BACKENDS)
