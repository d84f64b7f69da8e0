"""`Decider.decide(request)`: a request's Decision, in the order the engine always took:
a turn of a sticky conversation goes to its model; a registry name is that model; with
`tool_calling: primary` the primary calls the tools; an attached image goes to
describe_image; anything else is routed (decide/route.py: the router, then
routing/base.fall_through) and the route's target named. No answering model is acquired.
"""
from __future__ import annotations

from cadre.builtin_tools import BUILTIN_TOOLS, instruction_for
from cadre.errors import CadreError
from cadre.routing.base import RouteChoice
from cadre.runtime.decide.decision import Decision
from cadre.runtime.decide.route import router_of
from cadre.runtime.gates import verdict
from cadre.runtime.gateway.learned import LearnedChoice
from cadre.runtime.messages import last_image, target_language
from cadre.runtime.request import ChatRequest
from cadre.runtime.sticky import UNKNOWN_CALLER
from cadre.runtime.tool_answers import ANSWERING_TOOLS
from cadre.runtime.vision import VISION_MARK


class Decider:
    """The decide stage of one engine: its routes, routers and flags."""

    def __init__(self, config, registry, selector, gateway, manager, sticky, *, use_routing: bool,
                 enable_tools: bool):
        self.config, self.registry, self.selector, self.gateway = config, registry, selector, gateway
        self.manager, self.sticky = manager, sticky
        self.routes, self.primary = config.all_routes(), registry.primary().name
        self.use_routing, self.enable_tools = use_routing, enable_tools

    def decide(self, request: ChatRequest) -> Decision:
        """How `request` will be answered (raises UnknownModel for an unknown name)."""
        model = request.model
        if model not in self.registry:
            found = self._sticky(request)
            if found is not None:
                return found
        else:
            return Decision("model", f"model {model} requested by name", model)
        text, image = request.text(), last_image(request.messages)
        if self.enable_tools and self.primary_calls_tools() and image is None and not request.tools:
            self.selector.parse(model)  # an unknown router name is still an error
            return Decision("tool_loop", "tool calling: primary", self.primary)
        return self.target(self.route(text, image, model), text)

    def route_batch(self, texts: list[str], model: str = "auto") -> list[RouteChoice]:
        """The routes many texts would take, with one scoring call (no generation)."""
        for text in texts:
            if not isinstance(text, str):
                raise CadreError(f"text to route must be a string, not {type(text).__name__}")
        if not self.use_routing:
            return [RouteChoice(self.selector.default, 1.0, {}, "routing disabled") for _ in texts]
        return self.selector.route_batch(list(texts), model)

    def route(self, text: str, image, model: str = "auto") -> RouteChoice:
        """The routing decision alone (images go to describe_image)."""
        if image is not None and self.use_routing:
            return RouteChoice("vision", 1.0, {}, "image attached")
        if text.lstrip().startswith(VISION_MARK) and self.use_routing:
            return RouteChoice("vision", 1.0, {}, f"{VISION_MARK} features given")
        if not self.use_routing:
            return RouteChoice(self.selector.default, 1.0, {}, "routing disabled")
        return self.selector.route(text, model)

    def target(self, choice: RouteChoice, text: str) -> Decision:
        """What a route's target makes of the request."""
        if isinstance(choice, LearnedChoice):
            return Decision("learned", choice.reason, choice.name, choice, learned=choice)
        target = self.routes.get(choice.name)
        if target is not None and target.learned:
            learned = self.compose(choice, target.learned, text)
            return Decision("learned", learned.reason, learned.name, choice, learned=learned)
        if target is not None and target.tool and not self.enable_tools:
            return self._primary(choice, f"{choice.reason} → {target.tool}: tools disabled → primary")
        if target is None or target.capability == "primary_chat":
            why = "" if target is not None else f" → no target for {choice.name!r}"
            return self._primary(choice, f"{choice.reason}{why} → primary", fallback=target is None)
        if target.model:
            return self._gated(choice, target.model)
        if target.capability:
            return Decision("capability", choice.reason, None, choice, capability=target.capability)
        reason = f"{choice.reason} → {target.tool}"
        if target.tool in ANSWERING_TOOLS:  # sympy, the vision encoder: no language model
            return Decision("tool", reason, f"tool:{target.tool}", choice, tool=target.tool)
        return Decision("capability", reason, None, choice, capability=BUILTIN_TOOLS[target.tool].capability,
                        instruction=instruction_for(target.tool, lang=target_language(text)))

    def compose(self, choice: RouteChoice, router_name: str, text: str) -> LearnedChoice:
        """An intent route handed to a learned router, which picks among its models."""
        with router_of(self.manager, router_name) as router:
            learned = self.gateway.choose(router_name, router, text, None)
        learned.reason = f"{choice.reason} → {router_name}: {learned.reason}"
        return learned

    def primary_calls_tools(self) -> bool:
        """Only when the project asks (`tool_calling: primary`): an upstream able to call
        functions is no reason to turn a plain chat into a loop over cadre's tools."""
        return self.config.runtime.tool_calling == "primary"

    def _gated(self, choice: RouteChoice, name: str) -> Decision:
        """A route naming a model: a gated specialist (a checkpoint) serves only with evidence
        (cadre.runtime.gates reads its recorded score; nothing is loaded), and the reason shows
        its lower bound either way."""
        spec = self.registry.get(name) if name in self.registry else None
        gate = verdict(spec, self.primary) if spec is not None else None
        if gate is not None and gate.gated and not gate.allowed:
            return self._primary(choice, f"{choice.reason} → {name} ({gate.reason})")
        shown = f" ({gate.reason})" if gate is not None and gate.gated else ""
        return Decision("model", f"{choice.reason} → {name}{shown}", name, choice)

    def _primary(self, choice: RouteChoice, reason: str, fallback: bool = True) -> Decision:
        return Decision("primary", reason, self.primary, choice, fallback=fallback)

    def _sticky(self, request: ChatRequest) -> Decision | None:
        """The model that holds this conversation: the one whose tool calls the trailing
        tool results answer, or the session's; None when the turn is routed as usual."""
        found = self.sticky.lookup(request.messages, request.session)
        if found is None:
            return None
        self.selector.parse(request.model)  # an unknown router name is still an error
        name, why = found
        if name == UNKNOWN_CALLER or name not in self.registry:
            name, why = self.primary, f"{why} → primary"
        return Decision("model", why, name, RouteChoice("sticky", 1.0, {}, why), sticky=True)
