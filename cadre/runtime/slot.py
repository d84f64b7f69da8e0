"""One model's life in the manager (`Slot`), and a model held across calls (`Lease`,
`load_specialized_model`)."""
from __future__ import annotations

from dataclasses import dataclass

from cadre.runtime.backends.base import Backend
from cadre.runtime.registry import ModelSpec

DEFAULT_ESTIMATE = 50_000_000  # reserved for a model whose size cannot be guessed


def is_http_upstream(backend: str) -> bool:
    """Whether a backend is an HTTP upstream (admitted by runtime.remote_max_*)."""
    from cadre.runtime.backends.base import get_backend

    try:
        return bool(get_backend(backend).http_upstream)
    except Exception:  # an unknown backend is reported when the model is used
        return False


@dataclass
class Slot:
    """One registry model's life in the manager."""

    spec: ModelSpec
    device: str
    backend: Backend | None = None
    state: str = "unloaded"          # unloaded | loading | loaded
    in_use: int = 0
    waiting: int = 0
    last_used: float = 0.0
    estimate: int | None = None      # bytes, before loading
    measured: int | None = None      # bytes, RSS/CUDA difference of the latest load
    tensors: int | None = None       # bytes of parameters and buffers
    peak_measured: int = 0
    displaced: bool = False          # a pinned model evicted to make room, to be restored
    loads: int = 0
    load_seconds: float = 0.0
    last_load_ms: float | None = None
    last_unload_ms: float | None = None
    error: str | None = None
    http: bool = False               # an HTTP upstream (admitted by the remote limits)
    base: BaseSlot | None = None     # a LoRA adapter: the shared base it is served on

    def status(self, now: float, keep_alive_s: float) -> dict:
        """This model's row in `ModelManager.status()` (`now`: time.monotonic())."""
        return {"name": self.spec.name, "backend": self.spec.backend, "device": self.device,
                "state": self.state, "in_use": self.in_use, "pinned": self.spec.pinned,
                "capabilities": [c.value for c in self.spec.capabilities],
                "estimated_bytes": self.estimate, "measured_bytes": self.measured, "tensor_bytes": self.tensors,
                "charged_bytes": self.charge, "loads": self.loads, "load_seconds": round(self.load_seconds, 4),
                "last_load_ms": self.last_load_ms, "last_unload_ms": self.last_unload_ms, "error": self.error,
                "idle_s": round(now - self.last_used, 1) if self.last_used else None,
                "keep_alive_s": keep_alive_s, "base": self.base.key if self.base is not None else None}

    @property
    def need(self) -> int:
        """Bytes to reserve: what the latest load measured (never below the tensor bytes),
        else the estimate (also when nothing could be measured)."""
        return max(self.measured or 0, self.tensors or 0) or self.estimate or DEFAULT_ESTIMATE

    @property
    def charge(self) -> int:
        """Bytes this slot counts against its budget (the reservation while loading)."""
        if self.state == "unloaded" or self.device == "remote":
            return 0
        return self.need



@dataclass
class BaseSlot:
    """A base model loaded once for the LoRA adapters on it (counted once against the budget)."""

    key: str                         # the base's folder (or name)
    device: str
    host: object | None = None       # the LoraHost, while loaded
    state: str = "unloaded"          # unloaded | loading | loaded
    estimate: int | None = None
    measured: int | None = None
    tensors: int | None = None
    loads: int = 0
    last_load_ms: float | None = None

    @property
    def need(self) -> int:
        return max(self.measured or 0, self.tensors or 0) or self.estimate or DEFAULT_ESTIMATE

    @property
    def charge(self) -> int:
        return 0 if self.state == "unloaded" else self.need


class Lease:
    """A model held for several calls (`load_specialized_model`)."""

    def __init__(self, manager, name: str, backend: Backend, return_to_primary: bool):
        self.manager, self.name, self.backend = manager, name, backend
        self.return_to_primary, self.closed = return_to_primary, False

    def invoke(self, prompt: str, max_tokens: int = 256, **sampling) -> str:
        """Answer one prompt with the leased model."""
        return self.backend.invoke(prompt, max_tokens=max_tokens, **sampling)

    def close(self) -> None:
        """Release the model and restore the primary if asked."""
        if not self.closed:
            self.closed = True
            self.manager.release(self.name)
            if self.return_to_primary:
                self.manager.restore_pinned()

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
