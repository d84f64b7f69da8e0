"""The request path's stages, wired once per engine:

    decide (runtime/decide/) → lease (runtime/lease.py, then client fields) → respond
      (runtime/respond.py: the Answer) → record (runtime/record.py)

`Stages.lease(decision, request)` is the lease step as a whole: the decided model held,
a tool loop run, the session remembered, the client's tools, tool_choice and
response_format honoured (runtime/fields.py).
"""
from __future__ import annotations

from cadre.runtime.decide import Decider
from cadre.runtime.decide.route import RouteSelector
from cadre.runtime.fields import ClientFields
from cadre.runtime.gateway.service import Gateway
from cadre.runtime.lease import Leaser
from cadre.runtime.messages import last_image
from cadre.runtime.plan import Plan
from cadre.runtime.record import Recorder
from cadre.runtime.request import ChatRequest
from cadre.runtime.respond import Responder
from cadre.runtime.sticky import StickyTable
from cadre.runtime.tool_loop import ToolLoop
from cadre.runtime.tools import ToolBox


class Stages:
    """One engine's stages and the parts they share (gateway, selector, toolbox, sticky table)."""

    def __init__(self, config, registry, manager, images, *, use_routing: bool, enable_tools: bool):
        self.gateway = Gateway(config, registry, manager)
        self.selector = _selector(config, registry, manager, self.gateway)
        self.toolbox = ToolBox(manager)
        self.toolbox.images = images
        self.sticky = StickyTable()
        self.decider = Decider(config, registry, self.selector, self.gateway, manager, self.sticky,
                               use_routing=use_routing, enable_tools=enable_tools)
        self.recorder = Recorder(self.gateway)
        self.leaser = Leaser(registry, manager, self.toolbox, self.gateway, self.recorder, images)
        self.fields = ClientFields(registry, self.leaser)
        self.tool_loop = ToolLoop(config, registry, manager, self.toolbox)
        self.responder = Responder(manager, self.leaser, self.recorder, self.gateway, self.sticky)

    def lease(self, decision, request: ChatRequest) -> Plan:
        """Hold the decided model, then make it honour the client's tools, tool_choice and
        response_format; a routed turn's model is remembered for its session."""
        messages = request.messages
        plan = self.leaser.plan(decision, messages, request.text(), last_image(messages), self.tool_loop,
                                request.sampling, request.cancel)
        if not decision.sticky and plan.prepared is not None and plan.route is not None:
            self.sticky.remember_session(request.session, plan.model)
        plan.limit = request.fields.get("max_completion_tokens")
        return self.fields.honour(plan, messages, request.model, request.fields)


def _selector(config, registry, manager, gateway) -> RouteSelector:
    """The route selector; a learned router composed into a route chooses within that
    route only, so it is not offered as a router of its own (unless it is the default)."""
    selector = RouteSelector(config, registry, manager, gateway)
    composed = {t.learned for t in config.all_routes().values() if t.learned}
    selector.router_models = [n for n in selector.router_models if n not in composed or n == config.router.model]
    return selector
