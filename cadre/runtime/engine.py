"""The Engine: one call answers a request with the right model, in one direction:

    request (runtime/request.py) → decide (runtime/decide/) → Decision (frozen)
      → lease (runtime/stages.py) → Answer (runtime/answer.py) → record (runtime/record.py)

`model="auto"` routes to a specialist, a tool or the primary; a registry name skips
routing; `router-<kind>-<t>` picks the router. Every result says which model answered and why.
"""
from __future__ import annotations

import time
from pathlib import Path

from cadre.routing.base import RouteChoice
from cadre.runtime.answer import Answer
from cadre.runtime.backends.base import message_text
from cadre.runtime.image_input import LocalImages
from cadre.runtime.manager import ModelManager
from cadre.runtime.messages import check_messages, last_image, target_language  # noqa: F401 (the API)
from cadre.runtime.plan import Plan
from cadre.runtime.registry import ModelCapability, Registry
from cadre.runtime.request import ChatRequest
from cadre.runtime.stages import Stages
from cadre.runtime.tool_loop import Cancelled  # noqa: F401 (the API)
from cadre.runtime.types import EngineResult


class Engine:
    """Routes each request to a specialist, a tool or the primary, within the manager's budget."""

    def __init__(self, config=None, use_routing: bool = True, manager: ModelManager | None = None,
                 local_images: str | Path | None = None, *, enable_tools: bool = True, device: str | None = None):
        """`config`: a ProjectConfig (None: the project in effect). `local_images`: the one folder
        whose image files requests may name. Seed 000's keywords: `enable_tools=False` sends
        tool routes to the primary; `device` overrides the project's `runtime.device`."""
        from cadre.config import find_config, with_device
        from cadre.runtime.memory import require_device

        self.config = with_device(find_config() if config is None else config, device)
        if device is not None:
            require_device(device)
        self.registry = manager.registry if manager is not None else Registry.from_config(self.config)
        self.manager = manager or ModelManager.from_config(self.config, self.registry)
        self.primary, self.routes = self.registry.primary().name, self.config.all_routes()
        self.stages = Stages(self.config, self.registry, self.manager, LocalImages(local_images),
                             use_routing=use_routing and self.config.router.enabled, enable_tools=enable_tools)
        self.gateway, self.selector, self.toolbox = self.stages.gateway, self.stages.selector, self.stages.toolbox

    @classmethod
    def from_config_file(cls, path, **kwargs) -> Engine:
        """An engine for a cadre.yaml or a seed-style specialized_models.json."""
        from cadre.config import load_config

        return cls(load_config(Path(path)), **kwargs)

    def model_names(self) -> list[str]:
        """Registry models."""
        return self.registry.names()

    def router_names(self) -> list[str]:
        """Virtual models: auto, then router-<kind>-<threshold>."""
        return self.selector.names()

    def answer_names(self) -> list[str]:
        """Other names a response's `model` can carry: the built-in tools, the vision encoder."""
        from cadre.runtime.vision import ENCODER_NAME

        return [f"tool:{name}" for name in self.toolbox.schemas] + [ENCODER_NAME]

    def route(self, text: str, model: str = "auto") -> RouteChoice:
        """The route a text would take (no generation)."""
        return self.route_batch([text], model)[0]

    def route_batch(self, texts: list[str], model: str = "auto") -> list[RouteChoice]:
        """`route` for many texts with one scoring call."""
        return self.stages.decider.route_batch(texts, model)

    def generate(self, prompt: str, max_tokens: int | None = None, temperature: float | None = None, *,
                 max_gen: int | None = None) -> EngineResult | str:
        """Route one prompt and answer it: an EngineResult (`str()` is the text). Seed 000's
        form, `generate(prompt, max_gen=256, temperature=0.7)`, returns the text itself."""
        result = self.chat([{"role": "user", "content": prompt}],
                           max_tokens=max_tokens if max_gen is None else max_gen, temperature=temperature)
        return result if max_gen is None else result.text

    def decide(self, request: ChatRequest):
        """How a request will be answered (runtime/decide/): no answering model is held."""
        check_messages(request.messages)
        return self.stages.decider.decide(request)

    def chat(self, messages: list[dict], model: str = "auto", tools: list[dict] | None = None,
             tool_choice=None, max_tokens: int | None = None, temperature: float | None = None,
             top_p: float | None = None, cancel=None, session: str | None = None, **fields) -> EngineResult:
        """Answer a chat whole; calls of the client's own tools come back in `tool_calls`.
        `fields`: response_format, seed, parallel_tool_calls, ...; `cancel` stops a tool loop."""
        started = time.perf_counter()
        request = ChatRequest.of(messages, model, tools, tool_choice, max_tokens, temperature, top_p, session,
                                 cancel, **fields)
        return self.stages.responder.whole(self.stages.lease(self.decide(request), request), request, started)

    def chat_stream(self, messages, model: str = "auto", max_tokens: int | None = None,
                    temperature: float | None = None, top_p: float | None = None, tools=None, tool_choice=None,
                    session: str | None = None, **fields) -> Answer:
        """Decide now (model and reason are known at once), then stream the Answer. Unset
        sampling fields stay None; `session` keeps a conversation on one model."""
        started = time.perf_counter()
        request = ChatRequest.of(messages, model, tools, tool_choice, max_tokens, temperature, top_p, session,
                                 **fields)
        return self.stages.responder.stream(self.stages.lease(self.decide(request), request), request, started)

    def metrics_snapshot(self) -> dict:
        """Loaded models with measured memory, budgets and usage per device, request counts."""
        return self.stages.recorder.snapshot(self.manager)

    def close(self) -> None:
        """Unload everything idle, stop background threads and close the decision log."""
        self.manager.close()
        self.gateway.close()


__all__ = ["Engine", "ModelCapability", "Plan", "check_messages", "last_image", "message_text"]
