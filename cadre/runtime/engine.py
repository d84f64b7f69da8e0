"""The Engine: one call answers a request with the right model, in one direction:

    request (runtime/request.py) → decide (runtime/decide/) → Decision (frozen)
      → lease (runtime/lease.py) → Answer (runtime/answer.py) → record (runtime/record.py)

`model="auto"` routes by intent (router model → keyword rules → default route) to a
specialist, a tool or the primary; a registry name skips routing; `router-<kind>-<t>`
picks the router. A missing or failing specialist falls back to the primary, and every
result says which model answered and why. With `tool_calling: primary` the primary calls
the built-in tools itself (runtime/tool_loop.py). A turn that answers a model's tool calls
goes back to that model (runtime/sticky.py), and an `openai` upstream gets the client's
request as it came (runtime/proxy.py).
"""
from __future__ import annotations

import time
from pathlib import Path

from cadre.errors import CadreError
from cadre.routing.base import RouteChoice
from cadre.runtime.answer import Answer
from cadre.runtime.backends.base import message_text
from cadre.runtime.decide import Decider
from cadre.runtime.fields import ClientFields
from cadre.runtime.gateway.service import Gateway
from cadre.runtime.image_input import LocalImages
from cadre.runtime.lease import Leaser
from cadre.runtime.manager import ModelManager
from cadre.runtime.messages import check_messages, last_image, target_language  # noqa: F401 (the API)
from cadre.runtime.plan import Plan
from cadre.runtime.record import Recorder
from cadre.runtime.registry import ModelCapability, Registry
from cadre.runtime.request import ChatRequest
from cadre.runtime.respond import Responder
from cadre.runtime.decide.route import RouteSelector
from cadre.runtime.sticky import StickyTable
from cadre.runtime.tool_loop import Cancelled, ToolLoop  # noqa: F401 (Cancelled: the API)
from cadre.runtime.tools import ToolBox
from cadre.runtime.types import EngineResult


class Engine:
    """Routes each request to a specialist, a tool or the primary, within the manager's budget."""

    def __init__(self, config=None, use_routing: bool = True, manager: ModelManager | None = None,
                 local_images: str | Path | None = None, *, enable_tools: bool = True, device: str | None = None):
        """`config`: a ProjectConfig (None: the project in effect, `cadre.config.find_config`).
        `local_images`: the one folder whose image files requests may name (None: images
        only as base64 or data URLs). Seed 000's keywords: `enable_tools=False` sends the
        routes whose target is a built-in tool to the primary; `device` ("cpu", "cuda",
        "cuda:1", "auto") overrides the project's `runtime.device`."""
        from cadre.config import find_config, with_device

        config = with_device(find_config() if config is None else config, device)
        if device is not None:
            from cadre.runtime.memory import require_device

            require_device(device)
        self.config, self.enable_tools = config, enable_tools
        self.images = LocalImages(local_images)
        self.registry = manager.registry if manager is not None else Registry.from_config(config)
        self.manager = manager or ModelManager.from_config(config, self.registry)
        self.use_routing = use_routing and config.router.enabled
        self.routes = config.all_routes()
        self.gateway = Gateway(config, self.registry, self.manager)
        self.selector = RouteSelector(config, self.registry, self.manager, self.gateway)
        composed = {t.learned for t in self.routes.values() if t.learned}  # they choose within a route
        self.selector.router_models = [n for n in self.selector.router_models
                                       if n not in composed or n == config.router.model]
        self.toolbox = ToolBox(self.manager)
        self.toolbox.images = self.images
        self.primary = self.registry.primary().name
        self.sticky = StickyTable()
        self.decider = Decider(config, self.registry, self.selector, self.gateway, self.manager, self.sticky,
                               use_routing=self.use_routing, enable_tools=enable_tools)
        self.recorder = Recorder(self.gateway)
        self.leaser = Leaser(self.registry, self.manager, self.toolbox, self.gateway, self.recorder, self.images)
        self.fields = ClientFields(self.registry, self.leaser)
        self.tool_loop = ToolLoop(config, self.registry, self.manager, self.toolbox)
        self.responder = Responder(self.manager, self.leaser, self.recorder, self.gateway, self.sticky)

    @classmethod
    def from_config_file(cls, path, **kwargs) -> Engine:
        """An engine for a cadre.yaml or a seed-style specialized_models.json."""
        from cadre.config import load_config

        return cls(load_config(Path(path)), **kwargs)

    # ------------------------------------------------------------------ names
    def model_names(self) -> list[str]:
        """Registry models."""
        return self.registry.names()

    def router_names(self) -> list[str]:
        """Virtual models: auto, then router-<kind>-<threshold>."""
        return self.selector.names()

    def answer_names(self) -> list[str]:
        """Names a response's `model` can carry besides registry models: the built-in
        tools (tool:solve_math, ...) and the vision encoder's label path."""
        from cadre.runtime.vision import ENCODER_NAME

        return [f"tool:{name}" for name in self.toolbox.schemas] + [ENCODER_NAME]

    # ------------------------------------------------------------------ routing
    def route(self, text: str, model: str = "auto") -> RouteChoice:
        """The route a text would take (no generation)."""
        return self.route_batch([text], model)[0]

    def route_batch(self, texts: list[str], model: str = "auto") -> list[RouteChoice]:
        """`route` for many texts with one scoring call; each choice as `route` gives it."""
        for text in texts:
            if not isinstance(text, str):
                raise CadreError(f"text to route must be a string, not {type(text).__name__}")
        if not self.use_routing:
            return [RouteChoice(self.selector.default, 1.0, {}, "routing disabled") for _ in texts]
        return self.selector.route_batch(list(texts), model)


    def generate(self, prompt: str, max_tokens: int | None = None,
                 temperature: float | None = None, *,
                 max_gen: int | None = None) -> EngineResult | str:
        """Route one prompt and answer it: an EngineResult (text, model, reason, ...; `str()`
        of it is the text). Seed 000's form, `generate(prompt, max_gen=256, temperature=0.7)`,
        returns the answer's text as a string."""
        result = self.chat([{"role": "user", "content": prompt}],
                           max_tokens=max_tokens if max_gen is None else max_gen, temperature=temperature)
        return result if max_gen is None else result.text

    def decide(self, request: ChatRequest):
        """How a request will be answered (runtime/decide/): no answering model is held."""
        check_messages(request.messages)
        return self.decider.decide(request)

    def chat(self, messages: list[dict], model: str = "auto", tools: list[dict] | None = None,
             tool_choice=None, max_tokens: int | None = None, temperature: float | None = None,
             top_p: float | None = None, cancel=None, session: str | None = None,
             **fields) -> EngineResult:
        """Answer a chat; tool calls for the client's own tools come back in `tool_calls`.
        `fields` (response_format, seed, parallel_tool_calls) are honoured as in chat_stream;
        setting `cancel` (the client left) stops tool-calling generation."""
        started = time.perf_counter()
        request = ChatRequest.of(messages, model, tools, tool_choice, max_tokens, temperature, top_p, session,
                                 cancel, **fields)
        return self.responder.whole(self._plan(request), request, started)

    def chat_stream(self, messages, model: str = "auto", max_tokens: int | None = None,
                    temperature: float | None = None, top_p: float | None = None, tools=None, tool_choice=None,
                    session: str | None = None, **fields) -> Answer:
        """Route now (model and reason are known at once), then stream the answer: text
        pieces, and tool-call deltas (OpenAI's dicts) when the model calls the client's tools.
        Unset sampling fields stay None: an upstream never gets them, a local model uses
        its defaults. `session` keeps a conversation on one model (runtime/sticky.py)."""
        started = time.perf_counter()
        request = ChatRequest.of(messages, model, tools, tool_choice, max_tokens, temperature, top_p, session,
                                 **fields)
        return self.responder.stream(self._plan(request), request, started)

    def _plan(self, request: ChatRequest) -> Plan:
        """Decide, lease the decided model, then make it honour the client's tools,
        tool_choice and response_format."""
        decision = self.decide(request)
        messages = request.messages
        plan = self.leaser.plan(decision, messages, request.text(), last_image(messages), self.tool_loop,
                                request.sampling, request.cancel)
        if not decision.sticky and plan.prepared is not None and plan.route is not None:
            self.sticky.remember_session(request.session, plan.model)
        plan.limit = request.fields.get("max_completion_tokens")
        return self.fields.honour(plan, messages, request.model, request.fields)

    def metrics_snapshot(self) -> dict:
        """Loaded models with measured memory, budgets and usage per device, request counts."""
        return self.recorder.snapshot(self.manager)

    def close(self) -> None:
        """Unload everything idle, stop background threads and close the decision log."""
        self.manager.close()
        self.gateway.close()


__all__ = ["Engine", "ModelCapability", "Plan", "check_messages", "last_image", "message_text"]
