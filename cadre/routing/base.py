"""The router contract: every router returns a RouteChoice, and the base class owns
thresholds and the fallback chain (model → keyword → default route).

Concrete routers implement one method, `score_batch(texts) -> (N, R) probabilities`,
and register themselves with one line: `register_router("kind", cls, loader)`.
A router whose labels include `out_of_scope` can say so itself (when that score is the
highest and reaches the out_of_scope threshold, 0 by default); either way, a text
below its route's threshold falls through: fallback router, then default route, then
`out_of_scope`. `input_note(text)` lets a router add a note such as truncation.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Sequence

from cadre.errors import CadreError
from cadre.labels import OUT_OF_SCOPE
from cadre.routing.routes import Route, read_routes_yaml, routes_to_yaml


@dataclass
class RouteChoice:
    """A routing decision: the route, its confidence, every route's score, and why."""

    name: str
    score: float
    scores: dict[str, float]
    reason: str

    def to_dict(self) -> dict:
        return {"name": self.name, "score": self.score, "scores": self.scores, "reason": self.reason}


class Router(ABC):
    """Base class: scoring is abstract; thresholds and fallbacks live here."""

    kind: ClassVar[str] = "base"

    def __init__(self, labels: Sequence[str], thresholds: dict[str, float] | None = None,
                 fallback: "Router | None" = None, default_route: str | None = None):
        self.labels = list(labels)
        self.thresholds = {label: 0.0 for label in self.labels}
        self.set_thresholds(thresholds or {})
        self.fallback = fallback
        self.default_route = default_route

    @abstractmethod
    def score_batch(self, texts: Sequence[str]) -> "list[list[float]]":
        """Return one probability row per text, aligned with `self.labels`."""

    def set_thresholds(self, thresholds: dict[str, float]) -> None:
        """Replace per-route thresholds; an unknown route name is an error."""
        unknown = sorted(set(thresholds) - set(self.labels))
        if unknown:
            raise CadreError(f"thresholds name unknown route(s) {unknown}; routes are {self.labels}")
        self.thresholds.update({k: float(v) for k, v in thresholds.items()})

    def scores(self, text: str) -> dict[str, float]:
        """Score of every route for one text."""
        row = self.score_batch([text])[0]
        return {label: float(p) for label, p in zip(self.labels, row)}

    def route(self, text: str) -> RouteChoice:
        """Choose a route; below its threshold, fall down the chain, saying so in `reason`."""
        return self.decide(text, self.scores(text))

    def route_batch(self, texts: Sequence[str]) -> list[RouteChoice]:
        """Route many texts with one batched scoring call."""
        rows = self.score_batch(list(texts))
        return [self.decide(t, dict(zip(self.labels, map(float, r)))) for t, r in zip(texts, rows)]

    def input_note(self, text: str) -> str:
        """A note about the input that `reason` should carry (e.g. truncation); "" for none."""
        return ""

    def decide(self, text: str, scores: dict[str, float], threshold: float | None = None,
               chain: bool = True) -> RouteChoice:
        """Apply the best route's threshold (or `threshold` for every route), then the
        fallback chain; with `chain=False` a text below threshold is `out_of_scope` and
        the caller owns the rest of the chain."""
        note = self.input_note(text)
        note = f" ({note})" if note else ""
        if not scores:
            return self._fall_through(text, scores, f"{self.kind}: no routes{note}", chain)
        best = max(scores, key=scores.get)
        if best == OUT_OF_SCOPE and scores[best] < self.thresholds.get(OUT_OF_SCOPE, 0.0) and len(scores) > 1:
            best = max((k for k in scores if k != OUT_OF_SCOPE), key=scores.get)  # oos below its own threshold
        score = scores[best]
        limit = self.thresholds.get(best, 0.0) if threshold is None else threshold
        if best != OUT_OF_SCOPE and score >= limit:
            return RouteChoice(best, score, scores, f"{self.kind} {best} {score:.2f} ≥ {limit:.2f}{note}")
        why = (f"{self.kind} says out_of_scope ({score:.2f})" if best == OUT_OF_SCOPE
               else f"{self.kind} {best} {score:.2f} < {limit:.2f}")
        return self._fall_through(text, scores, why + note, chain)

    def _fall_through(self, text: str, scores: dict[str, float], why: str, chain: bool = True) -> RouteChoice:
        """Below threshold: the one fallback chain (`fall_through`), or out_of_scope."""
        if not chain:
            return RouteChoice(OUT_OF_SCOPE, 0.0, scores, why)
        return fall_through(text, why, self.fallback, self.default_route, scores)

    def routes(self) -> list[Route]:
        """The routes as data (name and threshold; subclasses add utterances or patterns)."""
        return [Route(name, threshold=self.thresholds.get(name, 0.0))
                for name in self.labels if name != OUT_OF_SCOPE]

    def to_yaml(self) -> str:
        """The routes as YAML (see `cadre.routing.routes`)."""
        return routes_to_yaml(self.routes(), default_route=self.default_route)

    def apply_yaml(self, path: str | Path) -> None:
        """Take thresholds from a routes YAML; a route this router lacks is an error."""
        routes, _ = read_routes_yaml(path)
        unknown = sorted(r.name for r in routes if r.name not in self.labels)
        if unknown:
            raise CadreError(f"{path}: unknown route(s) {unknown}; this router's routes are {self.labels}")
        self.set_thresholds({r.name: r.threshold for r in routes if r.threshold is not None})


def fall_through(text: str, why: str, fallback, default_route: str | None, scores: dict | None = None,
                 threshold: float | None = None, own_chain: bool = True) -> RouteChoice:
    """The fallback chain, written once: a router below its threshold (or none at all)
    hands the text to the fallback router (the keyword rules), then to the default route,
    else it is out_of_scope. `why` is what happened so far; each step adds to it.
    `threshold` (one for every route) and `own_chain=False` are the serving chain's
    (runtime/decide/route.py): the keyword rules at the request's threshold, their own
    default ignored."""
    steps, kept = ([why] if why else []), scores
    if fallback is not None:
        choice = fallback.decide(text, fallback.scores(text), threshold=threshold, chain=own_chain)
        kept = scores if scores is not None else choice.scores
        steps.append(choice.reason)
        if choice.name != OUT_OF_SCOPE:
            return RouteChoice(choice.name, choice.score, kept, " → ".join(steps))
    kept = kept if kept is not None else {}
    if default_route:
        return RouteChoice(default_route, 0.0, kept, " → ".join(steps + [f"default {default_route}"]))
    return RouteChoice(OUT_OF_SCOPE, 0.0, kept, " → ".join(steps))


ROUTER_KINDS: dict[str, type[Router]] = {}
LOADERS: dict[str, Callable[[Path], Router]] = {}


def register_router(kind: str, cls: type[Router], loader: Callable[[Path], Router] | None = None) -> None:
    """Register a router kind the way a plugin would; a duplicate name is rejected."""
    if kind in ROUTER_KINDS:
        raise ValueError(f"router kind {kind!r} is already registered")
    cls.kind = kind
    ROUTER_KINDS[kind] = cls
    if loader is not None:
        LOADERS[kind] = loader
