"""The Engine: one call answers a request with the right model.

`model="auto"` routes by intent (router model → keyword rules → default route) to a
specialist, a tool or the primary; a registry name skips routing; `router-<kind>-<t>`
picks the router. A missing or failing specialist falls back to the primary, and every
result says which model answered and why. With `tool_calling: primary` (or `auto` and a
primary that supports function calling) the primary calls the built-in tools itself.
"""
from __future__ import annotations

import re
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cadre.builtin_tools import BUILTIN_TOOLS, instruction_for
from cadre.errors import CadreError
from cadre.routing.base import RouteChoice
from cadre.runtime import passthrough, timing
from cadre.runtime.answers import looks_degenerate
from cadre.runtime.async_answer import attach_async
from cadre.runtime.backends.base import last_user_text, message_text
from cadre.runtime.errors import BackendError, BudgetError, Overloaded, ToolError
from cadre.runtime.gateway.learned import LearnedChoice
from cadre.runtime.gateway.service import Gateway
from cadre.runtime.image_input import LocalImages, path_in_text
from cadre.runtime.manager import ModelManager
from cadre.runtime.registry import ModelCapability, Registry
from cadre.runtime.selector import RouteSelector
from cadre.runtime.tools import TOOL_SCHEMAS, Prepared, ToolBox, run_tool_loop
from cadre.runtime.types import EngineResult, StreamHandle, Usage
from cadre.runtime.vision import VISION_MARK

ROLES = {"system", "user", "assistant", "tool"}
_LANG = re.compile(r"\b(?:into|to|in)\s+([A-Z][a-z]+|[a-z]+ish|french|german|italian|japanese|chinese|"
                   r"korean|russian|portuguese|dutch|greek|arabic|hindi)\b", re.IGNORECASE)


@dataclass
class Plan:
    """How one request is answered: a ready text, or a model to stream from."""

    model: str
    reason: str
    route: RouteChoice | None = None
    text: str | None = None
    prepared: Prepared | None = None
    tool_calls: list[dict] = field(default_factory=list)
    finish_reason: str = "stop"
    request_id: str | None = None
    chain: object = None           # the FailoverBackend of a learned route
    cost: float | None = None
    fields: dict = field(default_factory=dict)      # client fields the backend acts on natively
    client_tools: tuple | None = None               # (tools, tool_choice) offered in a local prompt
    usage: Usage = field(default_factory=Usage)
    fallback: bool = False      # the route's own model or tool did not answer: the primary (or next) did


class Engine:
    """Routes each request to a specialist, a tool or the primary, within the manager's budget."""

    def __init__(self, config, use_routing: bool = True, manager: ModelManager | None = None,
                 local_images: str | Path | None = None):
        """`local_images`: the one folder whose image files requests may name (None: images
        only as base64 or data URLs)."""
        self.config = config
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
        if not isinstance(text, str):
            raise CadreError(f"text to route must be a string, not {type(text).__name__}")
        if not self.use_routing:
            return RouteChoice(self.selector.default, 1.0, {}, "routing disabled")
        return self.selector.route(text, model)

    # ------------------------------------------------------------------ answering
    def generate(self, prompt: str, max_tokens: int = 256, temperature: float = 0.0) -> EngineResult:
        """Route one prompt and answer it (`engine.generate(prompt)`)."""
        return self.chat([{"role": "user", "content": prompt}], max_tokens=max_tokens, temperature=temperature)

    def chat(self, messages: list[dict], model: str = "auto", tools: list[dict] | None = None,
             tool_choice=None, max_tokens: int = 256, temperature: float = 0.0, top_p: float = 1.0,
             cancel: threading.Event | None = None, **fields) -> EngineResult:
        """Answer a chat; tool calls for the client's own tools come back in `tool_calls`.
        `fields` (response_format, seed, parallel_tool_calls) are honoured as in chat_stream;
        setting `cancel` (the client left) stops tool-calling generation."""
        started = time.perf_counter()
        plan = self._plan(messages, model, tools, tool_choice, max_tokens, temperature, top_p, fields, cancel)
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
        plan.cost = self.gateway.estimate_cost(plan.model, usage, plan.route)
        self._record(plan, model, messages, started, usage, "ok")
        return EngineResult(plan.text or "", plan.model, plan.reason, plan.route,
                            (time.perf_counter() - started) * 1000, usage, plan.tool_calls,
                            "tool_calls" if plan.tool_calls else plan.finish_reason,
                            plan.request_id, plan.cost)

    def _run(self, plan: Plan, max_tokens: int, temperature: float, top_p: float, cancel=None) -> Usage:
        """Generate a planned answer from its model (a ready text needs nothing)."""
        if plan.prepared is None:
            return plan.usage
        try:
            if plan.fields or plan.client_tools is not None:
                stream = self._open(plan, max_tokens, temperature, top_p, cancel)
                text, plan.tool_calls = passthrough.drain(stream)
                usage, plan.finish_reason = stream.usage, stream.finish_reason
            else:
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
        if plan.client_tools is not None:
            tools, choice = plan.client_tools
            return passthrough.local_tool_stream(prepared.backend, prepared.name, prepared.messages, tools,
                                                 choice, max_tokens, temperature, top_p, cancel)
        stream = prepared.backend.stream(prepared.messages, max_tokens, temperature, top_p,
                                         cancel=cancel, **plan.fields)
        if "tools" in plan.fields and passthrough.wants_tool_call(plan.fields.get("tool_choice")):
            return passthrough.require_tool_call(stream, prepared.name)
        return stream

    def chat_stream(self, messages, model: str = "auto", max_tokens: int = 256, temperature: float = 0.0,
                    top_p: float = 1.0, tools=None, tool_choice=None, **fields) -> StreamHandle:
        """Route now (model and reason are known at once), then stream the answer: text
        pieces, and tool-call deltas (OpenAI's dicts) when the model calls the client's tools."""
        started = time.perf_counter()
        plan = self._plan(messages, model, tools, tool_choice, max_tokens, temperature, top_p, fields)
        self._count(plan)
        if plan.route is not None and plan.request_id is None:
            plan.request_id = self.gateway.request_id()
        plan.cost = self.gateway.estimate_cost(plan.model, None, plan.route)
        handle = StreamHandle(plan.model, plan.reason, iter(()), plan.route, finish_reason=plan.finish_reason,
                              usage=plan.usage, request_id=plan.request_id, cost=plan.cost)
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
        return handle

    def _deltas(self, handle: StreamHandle, plan: Plan, release, max_tokens, temperature, top_p):
        try:
            timing.model_started()
            stream = self._open(plan, max_tokens, temperature, top_p, handle.cancelled)
            first = True
            for piece in stream:
                timing.model_progress()
                if not isinstance(piece, str):  # a tool-call delta
                    yield piece
                    continue
                piece = piece.lstrip() if first else piece
                first = first and not piece
                if piece:
                    yield piece
            handle.usage, handle.finish_reason = stream.usage, stream.finish_reason
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
              cancel=None) -> Plan:
        """Route first (tools do not skip routing), then make the chosen model honour the
        client's tools, tool_choice and response_format."""
        check_messages(messages)
        if not isinstance(model, str) or not model:
            raise CadreError("model must be a name: auto, router-<kind>-<threshold> or a registry model")
        fields = {**(fields or {}), **({"tools": tools} if tools else {}),
                  **({"tool_choice": tool_choice} if tool_choice is not None and tools else {})}
        fields = {k: v for k, v in fields.items() if v is not None}
        plan = self._route_plan(messages, model, max_tokens, temperature, top_p, bool(tools), cancel)
        return self._honour(plan, messages, model, fields)

    def _route_plan(self, messages, model, max_tokens, temperature, top_p, client_tools: bool, cancel=None) -> Plan:
        if model in self.registry:
            return Plan(model, f"model {model} requested by name", None,
                        prepared=self._acquire(model, messages, ""))
        text, image = last_user_text(messages), last_image(messages)
        if self._primary_calls_tools() and image is None and not client_tools:
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
        if target is None or target.capability == "primary_chat":
            why = "" if target is not None else f" → no target for {choice.name!r}"
            return self._primary_plan(choice, messages, f"{choice.reason}{why} → primary", fallback=target is None)
        if target.model:
            return Plan(target.model, f"{choice.reason} → {target.model}", choice,
                        prepared=self._acquire(target.model, messages, ""))
        if target.capability:
            return self._capability_plan(choice, messages, target.capability, "{text}", choice.reason)
        return self._tool_plan(choice, messages, target.tool, text, image)

    def _tool_plan(self, choice: RouteChoice, messages, tool: str, text: str, image) -> Plan:
        reason = f"{choice.reason} → {tool}"
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
        return Plan(result.model, f"{reason} (features: {result.features}{note})", choice, text=result.text)

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

    # ------------------------------------------------------------------ learned routes
    def _compose(self, choice: RouteChoice, router_name: str, text: str) -> LearnedChoice:
        """An intent route handed to a learned router, which picks among its models."""
        with self.manager.use(router_name, return_to_primary=False) as backend:
            learned = self.gateway.choose(router_name, backend.router, text, None)
        learned.reason = f"{choice.reason} → {router_name}: {learned.reason}"
        return learned

    def _learned_plan(self, choice: LearnedChoice, messages) -> Plan:
        """The learned router's model answers; the next ones in its ranking take over on failure."""
        plan = Plan(choice.name, choice.reason, choice, request_id=self.gateway.request_id())
        try:
            chain = self.gateway.chain(choice, lambda name, attempts: self._answered(plan, name, attempts))
        except BackendError as exc:
            self._record(plan, "auto", messages, time.perf_counter(), None, "error", str(exc))
            raise
        plan.chain, plan.model, plan.fallback = chain, chain.held, bool(chain.attempts.fallbacks)
        plan.reason = choice.reason + chain.attempts.note() + (
            f" → {chain.held}" if chain.attempts.fallbacks else "")
        plan.prepared = Prepared(chain.held, chain, list(messages), "", chain.release)
        return plan

    def _answered(self, plan: Plan, name: str, attempts, handle=None) -> None:
        plan.model, plan.reason = name, plan.route.reason + attempts.note()
        plan.fallback = plan.fallback or bool(attempts.fallbacks)
        if handle is not None:
            handle.model, handle.reason = plan.model, plan.reason
            handle.cost = plan.cost = self.gateway.estimate_cost(name, None, plan.route)

    def _record(self, plan: Plan, requested, messages, started, usage, status, error=None) -> None:
        if plan.route is None:
            return
        if plan.request_id is None:
            plan.request_id = self.gateway.request_id()
        self.gateway.record(plan, requested, last_user_text(messages), started, usage, status, error)

    def _primary_plan(self, choice, messages, reason: str, fallback: bool = True) -> Plan:
        return Plan(self.primary, reason, choice, prepared=self._acquire(self.primary, messages, ""),
                    fallback=fallback)

    def _acquire(self, name: str, messages, note: str) -> Prepared:
        backend = self.manager.acquire(name)
        return Prepared(name, backend, list(messages), note, lambda: self.manager.release(name))

    # ------------------------------------------------------------------ tool calling
    def _primary_calls_tools(self) -> bool:
        mode = self.config.runtime.tool_calling
        return mode == "primary" or (mode == "auto" and self.registry.get(self.primary).supports_function_calling)

    def _primary_is_native(self) -> bool:
        """A primary whose backend takes `tools` natively (read from its class: no load)."""
        from cadre.runtime.backends.base import get_backend

        names = getattr(get_backend(self.registry.get(self.primary).backend), "passthrough", None)
        return isinstance(names, frozenset) and "tools" in names

    def _native_tool_loop(self, messages, max_tokens, temperature, top_p) -> Plan:
        from cadre.runtime.native_tools import native_tool_loop

        loop = native_tool_loop(self.manager, self.primary, self.toolbox, messages, list(TOOL_SCHEMAS.values()),
                                self.config.runtime.max_tool_steps, max_tokens, temperature, top_p)
        if not loop.steps:
            return Plan(self.primary, "tool calling: primary answered without tools (native)",
                        text=loop.text.strip(), usage=loop.usage, finish_reason=loop.finish_reason)
        last = next((s["model"] for s in reversed(loop.steps) if s["ok"]), self.primary)
        failed = [s["result"] for s in loop.steps if not s["ok"]]
        why = (f"tool calling: primary called {', '.join(s['tool'] for s in loop.steps)} natively"
               + (f"; errors: {failed[0][:80]}" if failed else "") + f" ({loop.rounds} round{'s' * (loop.rounds > 1)})")
        return Plan(last, why, text=loop.text.strip(), usage=loop.usage, finish_reason=loop.finish_reason)

    def _generate_with(self, name: str, max_tokens, temperature, top_p, usage: Usage | None = None, cancel=None):
        """One round of a tool loop; the rounds' tokens add up in `usage`. With `cancel`
        the round is streamed, so a client that leaves stops it."""
        def generate(convo: list[dict]) -> str:
            if cancel is not None and cancel.is_set():
                raise Cancelled("the client went away")
            with self.manager.use(name) as backend:
                if cancel is None:
                    text, used, _ = backend.chat(convo, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
                else:
                    stream = backend.stream(convo, max_tokens, temperature, top_p, cancel=cancel)
                    text, used = stream.text(), stream.usage
            if cancel is not None and cancel.is_set():
                raise Cancelled("the client went away")
            if usage is not None:
                usage.prompt_tokens += used.prompt_tokens
                usage.completion_tokens += used.completion_tokens
            return text
        return generate

    def _tool_loop(self, messages, max_tokens, temperature, top_p, cancel=None) -> Plan:
        if self._primary_is_native():
            return self._native_tool_loop(messages, max_tokens, temperature, top_p)
        usage = Usage()
        loop = run_tool_loop(self._generate_with(self.primary, max_tokens, temperature, top_p, usage, cancel),
                             self.toolbox, messages, list(TOOL_SCHEMAS.values()), self.config.runtime.max_tool_steps)
        used = [s["tool"] for s in loop.steps if s.get("tool")]
        if not loop.steps:
            return Plan(self.primary, "tool calling: primary answered without tools", text=loop.text.strip(),
                        usage=usage)
        last = next((s["model"] for s in reversed(loop.steps) if s.get("ok")), self.primary)
        failed = [s["result"] for s in loop.steps if not s["ok"]]
        why = f"tool calling: primary called {', '.join(used) or 'nothing valid'}" + (
            f"; errors: {failed[0][:80]}" if failed else "") + f" ({loop.rounds} round{'s' * (loop.rounds > 1)})"
        return Plan(last, why, text=loop.text.strip(), usage=usage)

    def _honour(self, plan: Plan, messages, requested: str, fields: dict) -> Plan:
        """Fit the plan to the client's fields (runtime/passthrough.py): native to a backend
        that acts on them; a local chat model gets the tools in its prompt and constrained
        decoding for response_format; a specialist or a tool that cannot comply hands over
        to the primary (model="auto") or is a clear error (a model named)."""
        if not fields:
            return plan
        choice = fields.get("tool_choice")
        tools = fields.get("tools") if choice != "none" else None
        forced = passthrough.wants_tool_call(choice) if tools else False
        json_out = passthrough.wants_json(fields)
        named = requested in self.registry
        if plan.prepared is None:  # a tool (sympy, vision) answered with a ready text
            if not (forced or json_out):
                return plan
            need = "tool_choice" if forced else "response_format"
            plan = self._primary_plan(plan.route, messages, f"{plan.reason}; {need} needs a model → primary")
        native = passthrough.supported(plan.prepared.backend, fields)
        offer = tools is not None and "tools" not in native
        if offer and not (named or plan.model == self.primary or self.registry.get(plan.model).supports_function_calling):
            if forced or json_out:
                plan = self._switch_to_primary(plan, messages, "tool_choice needs a tool-calling model")
                native = passthrough.supported(plan.prepared.backend, fields)
            else:
                plan.reason += f" (tools not offered to {plan.model})"
                offer = False
        if json_out and "response_format" not in native and not offer:
            if named or plan.model == self.primary:
                self._release(plan.prepared)
                raise CadreError(f"model {plan.model!r} cannot honour response_format "
                                 "(it is neither an OpenAI-compatible upstream nor a Hugging Face chat model)")
            plan = self._switch_to_primary(plan, messages, "response_format needs a model that honours it")
            native = passthrough.supported(plan.prepared.backend, fields)
            if "response_format" not in native:
                self._release(plan.prepared)
                raise CadreError(f"no model here can honour response_format (primary {self.primary!r} cannot)")
        plan.fields = {} if offer else native
        if offer:
            plan.client_tools = (tools, choice)
        if tools is not None and (offer or "tools" in native):
            plan.reason += " (client tools offered in the prompt)" if offer else " (client tools passed natively)"
        if (offer or native.keys() & {"tools", "response_format"}) and \
                getattr(plan.prepared.backend, "encoder", None) is None:
            plan.prepared.messages = list(messages)  # an agent's whole conversation, not a one-turn instruction
        return plan

    def _switch_to_primary(self, plan: Plan, messages, why: str) -> Plan:
        self._release(plan.prepared)
        return self._primary_plan(plan.route, messages, f"{plan.reason}; {why} → primary")

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
        return snap

    def close(self) -> None:
        """Unload everything idle and stop background threads."""
        self.manager.close()


class Cancelled(CadreError):
    """A generation stopped because its client left (nobody reads the answer)."""


class _Once:
    def __init__(self, fn):
        self.fn, self.done, self.lock = fn, False, threading.Lock()

    def __call__(self):
        with self.lock:
            if self.done:
                return
            self.done = True
        self.fn()


def check_messages(messages) -> None:
    """A clear error for a malformed chat (names the message index)."""
    if not isinstance(messages, list) or not messages:
        raise CadreError("messages must be a non-empty list of {role, content} objects")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise CadreError(f"messages[{i}]: role must be one of {sorted(ROLES)}")
        if not isinstance(m.get("content"), (str, list, type(None))):
            raise CadreError(f"messages[{i}]: content must be a string or a list of parts")


def last_image(messages: list[dict]):
    """The image of the latest user message: an image_url part (data URL or path) or an image part."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        for part in message.get("content") if isinstance(message.get("content"), list) else ():
            if not isinstance(part, dict):
                continue
            if part.get("type") == "image_url":
                url = part.get("image_url", {})
                url = url.get("url") if isinstance(url, dict) else url
                if isinstance(url, str) and url.startswith(("http://", "https://")):
                    raise ToolError("remote image URLs are not fetched; send the image as a base64 data URL")
                return url
            if part.get("type") == "image":
                return part.get("image")
        return None
    return None


def target_language(text: str) -> str:
    """The language a translation request names ('into French'), English by default."""
    match = _LANG.search(text)
    return match.group(1).capitalize() if match else "English"


__all__ = ["Engine", "ModelCapability", "Plan", "check_messages", "last_image", "message_text"]
