"""Seed 000's module manager, `ModuleManager().load('tool_router')`, over the ModelManager
(the dashboard's Models view does the same with its Load/Unload buttons).

Modules are the project's models by name, plus `tool_router`: the intent router with the
specialist tools behind it (`cadre.runtime.tool_router.ToolRouter`). Loading it loads the
router model when the project has one whose files exist; without one it routes by the
bundled keyword rules, and `status()` says so.

    manager = ModuleManager()                  # the project in effect (cadre.config.find_config)
    router = manager.load("tool_router")       # the ToolRouter
    router.classify_intent("draw me a cat")    # "image"
"""
from __future__ import annotations

from cadre.errors import CadreError

TOOL_ROUTER = "tool_router"


class ModuleManager:
    """Load and unload modules: `tool_router` or any registry model."""

    def __init__(self, engine=None):
        from cadre.runtime.tool_router import ToolRouter, get_router

        self.router = get_router(use_specialized=True) if engine is None else ToolRouter(engine)
        self.engine = self.router.engine
        self.loaded: set[str] = set()

    def modules(self) -> list[str]:
        """Every module id: tool_router, then the registry's models."""
        return [TOOL_ROUTER, *self.engine.registry.names()]

    def load(self, module_id: str):
        """Load a module; returns the ToolRouter for `tool_router`, else the model's name."""
        self._check(module_id)
        if module_id == TOOL_ROUTER:
            model = self._router_model()
            if model is not None:
                self.engine.manager.load(model)
            self.loaded.add(module_id)
            return self.router
        self.engine.manager.load(module_id)
        self.loaded.add(module_id)
        return module_id

    def unload(self, module_id: str) -> bool:
        """Unload a module; False when its model is in use (it is never pulled from a request)."""
        self._check(module_id)
        model = self._router_model() if module_id == TOOL_ROUTER else module_id
        done = model is None or self.engine.manager.unload(model)
        if done:
            self.loaded.discard(module_id)
        return done

    def is_loaded(self, module_id: str) -> bool:
        """Whether a module is loaded (a model: whether the manager holds it now)."""
        self._check(module_id)
        if module_id == TOOL_ROUTER:
            return module_id in self.loaded
        return self.engine.manager.slots[module_id].state == "loaded"

    def status(self) -> dict[str, str]:
        """Module id → loaded / not loaded, and how tool_router routes."""
        out = {m: "loaded" if self.is_loaded(m) else "not loaded" for m in self.modules()}
        model = self._router_model()
        out[TOOL_ROUTER] += f" (router model {model})" if model else " (keyword rules: no router model)"
        return out

    def _router_model(self) -> str | None:
        """The router model to load for tool_router, when it exists on disk."""
        from cadre.runtime.planner import planned_bytes

        spec = self.engine.registry.for_capability("intent_classification")
        if spec is None or not self.router.use_specialized:
            return None
        try:
            planned_bytes(spec)
        except CadreError:
            return None  # files missing: the keyword rules route
        return spec.name

    def _check(self, module_id: str) -> None:
        if module_id not in self.modules():
            raise CadreError(f"unknown module {module_id!r}; modules: {', '.join(self.modules())}")
