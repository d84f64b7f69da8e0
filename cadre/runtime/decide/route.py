"""Choosing the route of a request: the project's router model (through the manager),
then the keyword rules, then the default route. Every step shows in `reason`.

`model="router-<kind>-<threshold>"` picks the router kind (a registry router whose folder
is of that kind, or `keyword`) and one threshold for every route. A learned router decides
by its own policy instead (see cadre.runtime.gateway), and `router-learned-<budget>` picks
its operating point: the one spending at most <budget> per query.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from cadre.labels import OUT_OF_SCOPE
from cadre.routing.base import RouteChoice, Router, fall_through
from cadre.routing.store import router_kind, saved_router
from cadre.runtime.errors import BackendError, BudgetError, Overloaded, UnknownModel
from cadre.runtime.registry import ModelCapability

_ROUTER_NAME = re.compile(r"^router-(?P<kind>[a-z0-9_]+)-(?P<threshold>[0-9]*\.?[0-9]+)$")
DEFAULT_THRESHOLD = 0.5


class RouteSelector:
    """The router chain of one engine."""

    def __init__(self, config, registry, manager, gateway=None):
        self.settings, self.registry, self.manager = config.router, registry, manager
        self.gateway = gateway
        self.default = self.settings.default_route
        self._keyword = None
        self._lock = threading.Lock()
        self.router_models = [s.name for s in registry.candidates(ModelCapability.INTENT_CLASSIFICATION)]
        if self.settings.model:  # the named router first
            self.router_models.remove(self.settings.model)
            self.router_models.insert(0, self.settings.model)

    def kinds(self) -> dict[str, str]:
        """Router kind → registry model name (first model of each kind), read without loading."""
        out: dict[str, str] = {}
        for name in self.router_models:
            out.setdefault(_kind_of(self.registry.get(name).path), name)
        return out

    def names(self) -> list[str]:
        """The virtual model names: auto, then router-<kind>-<threshold> per available kind."""
        threshold = self.settings.threshold if self.settings.threshold is not None else DEFAULT_THRESHOLD
        kinds = list(self.kinds()) + (["keyword"] if self.settings.keyword_fallback else [])
        return ["auto"] + [f"router-{k}-{_learned_budget(self.registry.get(self.kinds()[k]).path)}"
                           if k == "learned" else f"router-{k}-{threshold:g}" for k in dict.fromkeys(kinds)]

    def parse(self, model: str) -> tuple[str | None, float | None]:
        """(router model name or 'keyword' or None for the default chain, threshold override)."""
        if model == "auto":
            return None, self.settings.threshold
        match = _ROUTER_NAME.match(model)
        if not match:
            raise UnknownModel(f"unknown model {model!r}; use auto, a router name ({', '.join(self.names()[1:])}) "
                               f"or a model ({', '.join(self.registry.names())})")
        kind, threshold = match["kind"], float(match["threshold"])
        if threshold > 1 and kind != "learned":  # a learned router's number is a budget per query
            raise UnknownModel(f"{model}: threshold {threshold:g} is above 1")
        if kind == "keyword":
            return "keyword", threshold
        if kind not in self.kinds():
            raise UnknownModel(f"{model}: no {kind!r} router in this project; routers: {', '.join(self.names())}")
        return self.kinds()[kind], threshold

    def route(self, text: str, model: str = "auto") -> RouteChoice:
        """The route of a text, falling down the chain and saying why."""
        return self.route_batch([text], model)[0]

    def route_batch(self, texts: list[str], model: str = "auto") -> list[RouteChoice]:
        """The routes of many texts with one scoring call (concurrent /v1/route requests
        share one), each exactly as `route` would choose it."""
        chosen, threshold = self.parse(model)
        if chosen == "keyword":
            return [self._keyword_step(text, "", threshold) for text in texts]
        why = ""
        for name in [chosen] if chosen else self.router_models:
            try:
                with router_of(self.manager, name) as router:
                    if self.gateway is not None and self.gateway.is_learned(name):
                        return self.gateway.choose_batch(name, router, texts, threshold if chosen else None)
                    return self._intent_batch(router, texts, threshold)
            except (BackendError, BudgetError, Overloaded) as exc:
                why = f"{why}router {name} unavailable ({_short(exc)}) → "
        return [self._keyword_step(text, why or "no router model → ", None) for text in texts]

    def _intent_batch(self, router, texts: list[str], threshold: float | None) -> list[RouteChoice]:
        """An intent router's decisions with its own per-route thresholds, or one threshold
        for all; below it, the keyword rules and then the default route."""
        out = []
        for text, row in zip(texts, router.score_batch(list(texts))):
            scores = {label: float(p) for label, p in zip(router.labels, row)}
            choice = router.decide(text, scores, threshold=threshold, chain=False)
            out.append(choice if choice.name != OUT_OF_SCOPE
                       else self._keyword_step(text, f"{choice.reason} → ", None, choice.scores))
        return out

    def _keyword_step(self, text: str, why: str, threshold, scores=None) -> RouteChoice:
        """The rest of the chain (routing/base.fall_through): keyword rules, then the default."""
        fallback = self.keyword_router() if self.settings.keyword_fallback else None
        return fall_through(text, why.removesuffix(" → "), fallback, self.default, scores, threshold, own_chain=False)

    def keyword_router(self):
        """The bundled keyword rules (loaded once)."""
        with self._lock:
            if self._keyword is None:
                from cadre.routing.intent.keyword import KeywordRouter

                self._keyword = KeywordRouter.from_yaml()
            return self._keyword


@contextmanager
def router_of(manager, name: str) -> Iterator[Router]:
    """A router model, loaded and counted through the manager like any model, handed out
    as the Router it serves (a model with none is a BackendError: the chain goes on)."""
    with manager.use(name, return_to_primary=False) as backend:
        router = getattr(backend, "router", None)
        if router is None:
            raise BackendError("the intent_classification model has no router")
        yield router


def _kind_of(path: str | None) -> str:
    """A router folder's kind from its cadre.json; nano for a router not trained yet (the
    kind `cadre train --type router` writes). A broken folder is a CadreError, never nano."""
    meta = saved_router(path)
    return router_kind(meta) if meta else "nano"


def _learned_budget(path: str | None) -> str:
    """The default operating point's validation cost of a learned folder, as a name part."""
    try:
        op = (saved_router(path) or {})["operating_point"]
        return f"{float(op['val_cost']):.8f}".rstrip("0").rstrip(".") or "0"
    except (KeyError, ValueError, TypeError):
        return "0"


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 120 else text[:117] + "..."
