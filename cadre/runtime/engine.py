"""The Engine: one call answers a request with the right model.

`model="auto"` routes by intent (router model → keyword rules → default route) to a
specialist, a tool or the primary; a registry name skips routing; `router-<kind>-<t>`
picks the router. A missing or failing specialist falls back to the primary, and every
result says which model answered and why. With `tool_calling: primary` (or `auto` and a
primary that supports function calling) the primary calls the built-in tools itself.
A turn that answers a model's tool calls goes back to that model (runtime/sticky.py), and
an `openai` upstream gets the client's request as it came (runtime/proxy.py).
"""
from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from pathlib import Path

from cadre.builtin_tools import BUILTIN_TOOLS, instruction_for
from cadre.errors import CadreError
from cadre.routing.base import RouteChoice
from cadre.runtime import params, passthrough, timing
from cadre.runtime.answers import looks_degenerate
from cadre.runtime.async_answer import attach_async, attach_proxy
from cadre.runtime.backends.base import last_user_text, local_sampling, message_text
from cadre.runtime.engine_fields import ClientFields
from cadre.runtime.engine_learned import LearnedRoutes
from cadre.runtime.engine_sticky import StickyRoutes
from cadre.runtime.engine_tools import Cancelled, ToolCalling  # noqa: F401 (Cancelled: the API)
from cadre.runtime.errors import BackendError, BudgetError, Overloaded, ToolError
from cadre.runtime.gateway.learned import LearnedChoice
from cadre.runtime.gateway.service import Gateway
from cadre.runtime.image_input import LocalImages, path_in_text
from cadre.runtime.inline import refuse_blocking
from cadre.runtime.manager import ModelManager
from cadre.runtime.messages import check_messages, last_image, target_language  # noqa: F401 (the API)
from cadre.runtime.plan import Plan
from cadre.runtime.registry import ModelCapability, Registry
from cadre.runtime.selector import RouteSelector
from cadre.runtime.sticky import StickyTable
from cadre.runtime.tools import Prepared, ToolBox
from cadre.runtime.types import EngineResult, StreamHandle, Usage
from cadre.runtime.vision import VISION_MARK


class Engine(ClientFields, LearnedRoutes, StickyRoutes, ToolCalling):
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
        self.counts: Counter = Counter()
        self._count_lock = threading.Lock()

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

    # ------------------------------------------------------------------ answering
    def generate(self, prompt: str, max_tokens: int | None = None,
                 temperature: float | None = None, *,
                 max_gen: int | None = None) -> EngineResult | str:
        """Route one prompt and answer it: an EngineResult (text, model, reason, ...; `str()`
        of it is the text). Seed 000's form, `generate(prompt, max_gen=256, temperature=0.7)`,
        returns the answer's text as a string."""
        result = self.chat([{"role": "user", "content": prompt}],
                           max_tokens=max_tokens if max_gen is None else max_gen, temperature=temperature)
        return result if max_gen is None else result.text

    def chat(self, messages: list[dict], model: str = "auto", tools: list[dict] | None = None,
             tool_choice=None, max_tokens: int | None = None, temperature: float | None = None,
             top_p: float | None = None, cancel: threading.Event | None = None, session: str | None = None,
             **fields) -> EngineResult:
        """Answer a chat; tool calls for the client's own tools come back in `tool_calls`.
        `fields` (response_format, seed, parallel_tool_calls) are honoured as in chat_stream;
        setting `cancel` (the client left) stops tool-calling generation."""
        started = time.perf_counter()
        plan = self._plan(messages, model, tools, tool_choice, max_tokens, temperature, top_p, fields, cancel,
                          session)
        try:
            usage = self._run(plan, max_tokens, temperature, top_p, cancel)
        except Exception as exc:
            self._record(plan, model, messages, started, None, "error", str(exc))
            raise
        if plan.route is not None and plan.model != self.primary and plan.prepared is not None \
                and plan.chain is None and not plan.fields and plan.client_tools is None \
                and looks_degenerate(plan.text):
            # A tiny specialist that answered nothing usable: the primary answers instead.
            why = "empty answer" if not plan.text else "degenerate answer"
            plan = self._primary_plan(plan.route, messages, f"{plan.reason}: {why} → primary")
            usage = self._run(plan, max_tokens, temperature, top_p, cancel)
        self._count(plan)
        self.sticky.remember_calls(plan.model, [c.get("id") for c in plan.tool_calls])
        plan.cost = self.gateway.estimate_cost(plan.model, usage, plan.route)
        self._record(plan, model, messages, started, usage, "ok")
        return EngineResult(plan.text or "", plan.model, plan.reason, plan.route,
                            (time.perf_counter() - started) * 1000, usage, plan.tool_calls,
                            "tool_calls" if plan.tool_calls else plan.finish_reason,
                            plan.request_id, plan.cost, self.gateway.feedback_token(plan.request_id))

    def _run(self, plan: Plan, max_tokens: int, temperature: float, top_p: float, cancel=None) -> Usage:
        """Generate a planned answer from its model (a ready text needs nothing)."""
        if plan.prepared is None:
            return plan.usage
        try:
            if plan.fields or plan.client_tools is not None or plan.limit:
                stream = self._open(plan, max_tokens, temperature, top_p, cancel)
                text, plan.tool_calls = passthrough.drain(stream)
                usage, plan.finish_reason = stream.usage, stream.finish_reason
            else:
                if not params.accepts_any(plan.prepared.backend):
                    max_tokens, temperature, top_p = local_sampling(max_tokens, temperature, top_p)
                text, usage, plan.finish_reason = plan.prepared.backend.chat(
                    plan.prepared.messages, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
        finally:
            self._release(plan.prepared)
        plan.text = text.strip()
        return usage

    def _open(self, plan: Plan, max_tokens: int, temperature: float, top_p: float, cancel):
        """The backend's stream for a plan: client fields passed natively, or the client's
        tools offered in a local model's prompt."""
        prepared = plan.prepared
        if not params.accepts_any(prepared.backend):  # a local model (or a plugin) gets its defaults
            max_tokens, temperature, top_p = local_sampling(max_tokens or plan.limit, temperature, top_p)
        if plan.client_tools is not None:
            tools, choice = plan.client_tools
            return passthrough.local_tool_stream(prepared.backend, prepared.name, prepared.messages, tools,
                                                 choice, max_tokens, temperature, top_p, cancel)
        stream = prepared.backend.stream(prepared.messages, max_tokens, temperature, top_p,
                                         cancel=cancel, **plan.fields)
        if "tools" in plan.fields and passthrough.wants_tool_call(plan.fields.get("tool_choice")):
            return passthrough.require_tool_call(stream, prepared.name)
        return stream

    def chat_stream(self, messages, model: str = "auto", max_tokens: int | None = None,
                    temperature: float | None = None, top_p: float | None = None, tools=None, tool_choice=None,
                    session: str | None = None, **fields) -> StreamHandle:
        """Route now (model and reason are known at once), then stream the answer: text
        pieces, and tool-call deltas (OpenAI's dicts) when the model calls the client's tools.
        Unset sampling fields stay None: an upstream never gets them, a local model uses
        its defaults. `session` keeps a conversation on one model (runtime/sticky.py)."""
        started = time.perf_counter()
        plan = self._plan(messages, model, tools, tool_choice, max_tokens, temperature, top_p, fields,
                          session=session)
        self._count(plan)
        if plan.route is not None and plan.request_id is None:
            plan.request_id = self.gateway.request_id()
        plan.cost = self.gateway.estimate_cost(plan.model, None, plan.route)
        handle = StreamHandle(plan.model, plan.reason, iter(()), plan.route, finish_reason=plan.finish_reason,
                              usage=plan.usage, request_id=plan.request_id, cost=plan.cost,
                              feedback_token=self.gateway.feedback_token(plan.request_id))
        if plan.prepared is None:
            handle.deltas = iter([plan.text or ""])
            self._record(plan, model, messages, started, None, "ok")
            return handle
        ref = weakref.ref(handle)  # the release callback must not keep a dropped handle alive
        if plan.chain is not None:  # a failover before the first piece renames the answering model
            plan.chain.on_answer = lambda name, attempts: self._answered(plan, name, attempts, ref())

        def finish():
            self._release(plan.prepared)
            live = ref()
            error = getattr(live, "error", None) if live is not None else "stream dropped unread"
            self._record(plan, model, messages, started, getattr(live, "usage", None),
                         "error" if error else "ok", error)
        release = _Once(finish)
        weakref.finalize(handle, release)  # a handle dropped before streaming still releases
        handle.deltas = self._deltas(handle, plan, release, max_tokens, temperature, top_p)
        if getattr(plan.prepared.backend, "supports_async", False) and not plan.fields and plan.client_tools is None:
            # the server awaits a plain upstream answer on its loop (client fields take the threaded path)
            attach_async(handle, plan.prepared, release, self.manager, (max_tokens, temperature, top_p))
        if params.accepts_any(plan.prepared.backend) and plan.client_tools is None \
                and hasattr(plan.prepared.backend, "ajson"):
            attach_proxy(handle, plan, release, self.manager, (max_tokens, temperature, top_p),
                         self.sticky.remember_calls)
        return handle

    def _deltas(self, handle: StreamHandle, plan: Plan, release, max_tokens, temperature, top_p):
        try:
            timing.model_started()
            stream = self._open(plan, max_tokens, temperature, top_p, handle.cancelled)
            first = True
            for piece in stream:
                timing.model_progress()
                if not isinstance(piece, str):  # a tool-call delta
                    self.sticky.remember_calls(handle.model, [piece.get("id")])
                    yield piece
                    continue
                piece = piece.lstrip() if first else piece
                first = first and not piece
                if piece:
                    yield piece
            handle.usage, handle.finish_reason = stream.usage, stream.finish_reason
            handle.logprobs = getattr(stream, "logprobs", None)
        except Exception as exc:
            handle.error = str(exc)
            raise
        finally:
            timing.model_done()
            release()

    def _release(self, prepared: Prepared) -> None:
        prepared.release()
        self.manager.restore_pinned()

    # ------------------------------------------------------------------ planning
    def _plan(self, messages, model, tools, tool_choice, max_tokens, temperature, top_p, fields=None,
              cancel=None, session: str | None = None) -> Plan:
        """Route first (tools do not skip routing), then make the chosen model honour the
        client's tools, tool_choice and response_format."""
        check_messages(messages)
        if not isinstance(model, str) or not model:
            raise CadreError("model must be a name: auto, router-<kind>-<threshold> or a registry model")
        fields = {**(fields or {}), **({"tools": tools} if tools else {}),
                  **({"tool_choice": tool_choice} if tool_choice is not None and tools else {})}
        fields = {k: v for k, v in fields.items() if v is not None}
        # Only an explicit session pins a conversation: `user` and `prompt_cache_key` often span
        # many conversations of one end user, and pinning them would switch routing off.
        plan = self._sticky_plan(messages, model, session) if model not in self.registry else None
        if plan is None:
            plan = self._route_plan(messages, model, max_tokens, temperature, top_p, bool(tools), cancel)
            if plan.prepared is not None and plan.route is not None:
                self.sticky.remember_session(session, plan.model)
        plan.limit = fields.get("max_completion_tokens")
        return self._honour(plan, messages, model, fields)

    def _route_plan(self, messages, model, max_tokens, temperature, top_p, client_tools: bool, cancel=None) -> Plan:
        if model in self.registry:
            return Plan(model, f"model {model} requested by name", None,
                        prepared=self._acquire(model, messages, ""))
        text, image = last_user_text(messages), last_image(messages)
        if self.enable_tools and self._primary_calls_tools() and image is None and not client_tools:
            self.selector.parse(model)  # an unknown router name is still an error
            return self._tool_loop(messages, max_tokens, temperature, top_p, cancel)
        if image is not None and self.use_routing:
            choice = RouteChoice("vision", 1.0, {}, "image attached")
        elif text.lstrip().startswith(VISION_MARK) and self.use_routing:
            choice = RouteChoice("vision", 1.0, {}, f"{VISION_MARK} features given")
        else:
            choice = self.route(text, model)
        return self._dispatch(choice, messages, text, image)

    def _dispatch(self, choice: RouteChoice, messages, text: str, image) -> Plan:
        if isinstance(choice, LearnedChoice):
            return self._learned_plan(choice, messages)
        target = self.routes.get(choice.name)
        if target is not None and target.learned:
            return self._learned_plan(self._compose(choice, target.learned, text), messages)
        if target is not None and target.tool and not self.enable_tools:
            return self._primary_plan(choice, messages, f"{choice.reason} → {target.tool}: tools disabled → primary")
        if target is None or target.capability == "primary_chat":
            why = "" if target is not None else f" → no target for {choice.name!r}"
            return self._primary_plan(choice, messages, f"{choice.reason}{why} → primary", fallback=target is None)
        if target.model:
            return self._model_plan(choice, messages, target.model)
        if target.capability:
            return self._capability_plan(choice, messages, target.capability, "{text}", choice.reason)
        return self._tool_plan(choice, messages, target.tool, text, image)

    def _tool_plan(self, choice: RouteChoice, messages, tool: str, text: str, image) -> Plan:
        reason = f"{choice.reason} → {tool}"
        if tool in ("solve_math", "describe_image"):
            refuse_blocking()  # both do their work here, while planning: never on the event loop
        if tool == "solve_math":
            try:
                from cadre.runtime.math_sandbox import MathTooCostly, solve_math_safely

                return Plan("tool:solve_math", f"{reason} (sympy)", choice, text=solve_math_safely(text))
            except MathTooCostly as exc:  # a language model would only guess: say so instead
                return Plan("tool:solve_math", f"{reason} (sympy: {exc})", choice,
                            text=f"I cannot compute that exactly: {exc}.")
            except ToolError as exc:
                return self._capability_plan(choice, messages, "math", "{text}", f"{reason}: {exc}")
        if tool == "describe_image":
            return self._vision_plan(choice, reason, text, image, messages)
        instruction = instruction_for(tool, lang=target_language(text))  # the tool's route instruction
        return self._capability_plan(choice, messages, BUILTIN_TOOLS[tool].capability, instruction, reason)

    def _vision_plan(self, choice, reason: str, text: str, image, messages) -> Plan:
        from cadre.runtime.vision import VISION_MARK, describe_image

        source = image if image is not None else path_in_text(text)
        if source is None:
            if VISION_MARK not in text:
                return self._primary_plan(choice, messages, f"{reason}: no image attached → primary")
            source = text[text.index(VISION_MARK):]
        source = self.images.prepare(source)  # ImageRejected (400) for paths and bombs
        try:
            result = describe_image(source, self.manager, allow_paths=False)
        except ToolError as exc:
            return self._primary_plan(choice, messages, f"{reason}: {exc} → primary")
        fell_to = "" if result.model == self.primary else " → labels"
        note = f"; {result.note}{fell_to}" if result.note else ""
        # the features themselves stay out: given as text they are the request's words
        origin = f"{len(result.labels)} image labels" if result.labels else "given as text"
        return Plan(result.model, f"{reason} (features: {origin}{note})", choice, text=result.text)

    def _capability_plan(self, choice, messages, capability: str, instruction: str, reason: str) -> Plan:
        """The best model for a capability; the primary when none can serve."""
        try:
            prepared = self.toolbox.prepare(capability, last_user_text(messages), instruction)
        except (BackendError, BudgetError, Overloaded) as exc:
            raise BackendError(f"no model could answer ({exc})") from None
        if prepared.name == self.primary and instruction == "{text}":
            prepared.messages = list(messages)  # the primary sees the whole conversation
        note = f" ({prepared.note})" if prepared.note else ""
        return Plan(prepared.name, f"{reason} → {prepared.name}{note}", choice, prepared=prepared,
                    fallback=prepared.name == self.primary and capability != "primary_chat")

    def _model_plan(self, choice, messages, name: str) -> Plan:
        """A route naming a model: a gated specialist (a checkpoint) serves only with evidence
        (cadre.runtime.gates), and the reason shows its lower bound either way."""
        from cadre.runtime.gates import verdict

        spec = self.registry.get(name) if name in self.registry else None
        gate = verdict(spec, self.primary) if spec is not None else None
        if gate is not None and gate.gated and not gate.allowed:
            return self._primary_plan(choice, messages, f"{choice.reason} → {name} ({gate.reason})")
        shown = f" ({gate.reason})" if gate is not None and gate.gated else ""
        return Plan(name, f"{choice.reason} → {name}{shown}", choice, prepared=self._acquire(name, messages, ""))

    def _primary_plan(self, choice, messages, reason: str, fallback: bool = True) -> Plan:
        return Plan(self.primary, reason, choice, prepared=self._acquire(self.primary, messages, ""),
                    fallback=fallback)

    def _acquire(self, name: str, messages, note: str) -> Prepared:
        backend = self.manager.acquire(name)
        return Prepared(name, backend, list(messages), note, lambda: self.manager.release(name))

    # ------------------------------------------------------------------ metrics
    def _count(self, plan: Plan) -> None:
        with self._count_lock:
            self.counts["requests"] += 1
            self.counts[f"model:{plan.model}"] += 1
            if plan.route is not None:
                self.counts[f"route:{plan.route.name}"] += 1
            if plan.fallback:
                self.counts["fallbacks"] += 1

    def metrics_snapshot(self) -> dict:
        """Loaded models with measured memory, budgets and usage per device, request counts."""
        status = self.manager.status()
        snap: dict = {"models": {s["name"]: {"loaded": s["state"] == "loaded", "bytes": s["charged_bytes"],
                                             "measured_bytes": s["measured_bytes"],
                                             "estimated_bytes": s["estimated_bytes"], "loads": s["loads"]}
                                 for s in status}}
        for device, used in self.manager.used_bytes().items():
            snap[f"used_bytes_{device}"] = used
            snap[f"budget_bytes_{device}"] = self.manager.budget(device)
        with self._count_lock:
            snap["requests"] = self.counts["requests"]
            snap["fallbacks"] = self.counts["fallbacks"]
            snap["counts"] = dict(self.counts)
        snap.update(self.gateway.counts())
        return snap

    def close(self) -> None:
        """Unload everything idle, stop background threads and close the decision log."""
        self.manager.close()
        self.gateway.close()


class _Once:
    def __init__(self, fn):
        self.fn, self.done, self.lock = fn, False, threading.Lock()

    def __call__(self):
        with self.lock:
            if self.done:
                return
            self.done = True
        self.fn()


__all__ = ["Engine", "ModelCapability", "Plan", "check_messages", "last_image", "message_text"]
