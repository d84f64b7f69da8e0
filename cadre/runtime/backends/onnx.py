"""The `onnx` backend: the one class that serves routers, the CPU fast path.

Every saved router folder is served here, whichever backend the project names
(`local` hands them over: `routers_served_by`). A router folder is opened with `cadre.routing.base.load_router` (its cadre.json names the
kind: nano, embedding, keyword, ...); the nano router runs through ONNX Runtime, exporting
`model.onnx` once on first load.
"""
from __future__ import annotations

from pathlib import Path

from cadre.errors import CadreError
from cadre.routing.base import Router
from cadre.runtime.backends.base import (
    Backend,
    TextStream,
    last_user_text,
    register_backend,
)
from cadre.runtime.errors import BackendError, ModelFilesMissing


class OnnxBackend(Backend):
    """A router as a model: `route(text)` gives the RouteChoice; as chat it answers the label."""

    needs_path = True

    def __init__(self, spec, device: str = "cpu"):
        super().__init__(spec, device)
        self.router: Router | None = None

    def load(self) -> None:
        """Open the router folder."""
        from cadre.routing.loading import load_router

        path = Path(self.spec.path or "")
        if not path.exists():
            raise ModelFilesMissing(self.spec.name, str(path), self.spec.capabilities)
        if not path.is_dir():
            raise BackendError(f"model {self.spec.name!r}: {path}: router folder not found")
        try:
            self.router = load_router(str(path))
        except CadreError as exc:
            raise BackendError(f"model {self.spec.name!r}: {exc}") from None
        except (OSError, ValueError, RuntimeError, ImportError) as exc:
            raise BackendError(f"model {self.spec.name!r}: cannot load router {path} "
                               f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
        self.router.route("warm up")  # first call pays one-off session costs
        self.loaded = True

    @classmethod
    def prepare(cls) -> None:
        """Import the router runtimes before a load is measured."""
        import onnxruntime  # noqa: F401

        import cadre.routing.intent.nano  # noqa: F401

    def unload(self) -> None:
        """Drop the router."""
        self.router = None
        self.loaded = False

    def route(self, text: str):
        """The RouteChoice for a text."""
        if self.router is None:
            raise BackendError(f"model {self.spec.name!r} is not loaded")
        return self.router.route(text)

    def stream(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None, cancel=None) -> TextStream:
        """A router's answer is its label."""
        label = self.route(last_user_text(messages)).name
        return TextStream(lambda out: iter([label]))

    def tensor_bytes(self) -> int:
        """Parameter bytes when the router holds a torch model."""
        model = getattr(self.router, "model", None)
        if model is None or not hasattr(model, "parameters"):
            return 0
        return sum(p.numel() * p.element_size() for p in model.parameters())


    def estimate_bytes(self) -> int | None:
        """Weight files in the folder plus overhead."""
        path = Path(self.spec.path or "")
        if not path.is_dir():
            return None
        size = sum(f.stat().st_size for f in path.iterdir() if f.suffix in {".safetensors", ".onnx", ".npy", ".data"})
        return int(size * 1.2) + 3_000_000 if size else None


register_backend("onnx", OnnxBackend)
