"""`ToolRouter` and `get_router(use_specialized=True)`: the tool-router API, on top of the Engine.

    router = get_router(use_specialized=True)
    router.classify_intent("draw me a sunset")        # "image"
    router.generate_code("reverse a string")          # the code specialist's answer
    router.describe_image("cat, sleeping, couch")     # the vision captioner's sentence
    router.solve_math("solve 2x + 3 = 11")            # "x = 4" (sympy)

With `use_specialized=False` no specialist is loaded: intents come from the keyword
rules, code from the primary, images are described by their labels.
"""
from __future__ import annotations

import threading

from cadre.runtime.errors import ToolError


class ToolRouter:
    """Intent classification and the specialist tools behind one object."""

    def __init__(self, engine=None, use_specialized: bool = True, config=None):
        if engine is None:
            from cadre.config import find_config
            from cadre.runtime.engine import Engine

            engine = Engine(config or find_config(), use_routing=use_specialized)
        self.engine, self.use_specialized = engine, use_specialized

    def classify_intent(self, text: str) -> str:
        """The intent of a text (router model, then keywords, then the default route)."""
        if self.use_specialized:
            return self.engine.route(text).name
        return self.engine.selector.route(text, model=f"router-keyword-{0.0:g}").name

    def route(self, text: str):
        """The full RouteChoice (route, score, scores, reason)."""
        return self.engine.route(text)

    def describe_image(self, image_or_features) -> str:
        """A sentence about an image (path, PIL, base64) or a string of features."""
        from cadre.runtime.vision import describe_image

        manager = self.engine.manager if self.use_specialized else None
        return describe_image(image_or_features, manager).text

    def generate_code(self, prompt: str, max_tokens: int = 256) -> str:
        """Code from the code specialist (or the primary when there is none)."""
        from cadre.runtime.tools import CODE_INSTRUCTION

        toolbox = self.engine.toolbox
        capability = "code_generation" if self.use_specialized else "primary_chat"
        return toolbox.ask(capability, prompt, CODE_INSTRUCTION, max_tokens=max_tokens)[0]

    def solve_math(self, problem: str, max_tokens: int = 128) -> str:
        """An exact answer through sympy; a math model (or the primary) when sympy cannot read it."""
        from cadre.runtime.math_sandbox import solve_math_safely

        try:
            return solve_math_safely(problem)
        except ToolError:
            capability = "math" if self.use_specialized else "primary_chat"
            return self.engine.toolbox.ask(capability, problem, "{text}", max_tokens=max_tokens)[0]


_ROUTERS: dict[bool, ToolRouter] = {}
_LOCK = threading.Lock()


def get_router(use_specialized: bool = True) -> ToolRouter:
    """The process-wide ToolRouter for the project in effect (created on first use)."""
    with _LOCK:
        if use_specialized not in _ROUTERS:
            _ROUTERS[use_specialized] = ToolRouter(use_specialized=use_specialized)
        return _ROUTERS[use_specialized]


def use_specialized_model(capability, prompt: str, max_tokens: int = 256, **sampling) -> str | None:
    """A one-shot helper on the process-wide manager: the best model for a
    capability answers, the primary is restored; None when nothing can serve."""
    return get_router().engine.manager.use_specialized_model(capability, prompt, max_tokens, **sampling)
