"""The `keyword` router: regular-expression or word patterns per route, from a YAML of
routes (see `cadre.routing.routes`). It is the keyword fallback of the router chain, made data.
Patterns run on RE2, in linear time, over a bounded part of the text (`patterns.py`).

A route's score is its share of the matched patterns; when nothing matches, the router
says `out_of_scope`, so a chain falls through to its default route. Routes listed first
win ties. `fit` learns word patterns from labelled examples.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Sequence

from cadre.errors import CadreError
from cadre.labels import OUT_OF_SCOPE, is_out_of_scope
from cadre.routing.base import RouteChoice, Router, register_router
from cadre.routing.intent.patterns import compile_pattern, scored_text
from cadre.routing.routes import Route

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "assets" / "keyword_routes.yaml"
RULES_FILE = "routes.yaml"
_WORD = re.compile(r"[^\W\d_]{2,}|\d+", re.UNICODE)


class KeywordRouter(Router):
    """Routes by pattern matches; no match means out_of_scope."""

    def __init__(self, routes: Sequence[Route], default_route: str | None = None, **kwargs):
        routes = [r for r in routes if not is_out_of_scope(r.name)]
        if not routes:
            raise CadreError("a keyword router needs at least one route")
        self.route_rules = list(routes)
        self.compiled = [[compile_pattern(p, f"route {r.name!r}: ") for p in r.patterns] for r in routes]
        super().__init__([r.name for r in routes] + [OUT_OF_SCOPE], default_route=default_route, **kwargs)
        self.set_thresholds({r.name: r.threshold for r in routes if r.threshold is not None})

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_RULES) -> "KeywordRouter":
        """Build from a routes YAML (the bundled rules for the 10 intents by default)."""
        from cadre.routing.routes import read_routes_yaml

        routes, default = read_routes_yaml(path)
        try:
            return cls(routes, default_route=default)
        except CadreError as exc:
            raise CadreError(f"{path}: {exc}") from None

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], max_patterns: int = 25,
            min_count: int = 2, min_precision: float = 0.75) -> "KeywordRouter":
        """Learn word patterns: words seen at least `min_count` times, mostly under one route."""
        per_label, total = defaultdict(Counter), Counter()
        for text, label in zip(texts, labels):
            words = set(_WORD.findall(text.lower()))
            per_label[label].update(words)
            total.update(words)
        routes = []
        for label in sorted(per_label):
            if is_out_of_scope(label):
                continue
            ranked = sorted(((n * n / total[w], w) for w, n in per_label[label].items()
                             if n >= min_count and n / total[w] >= min_precision), reverse=True)
            routes.append(Route(label, patterns=[w for _, w in ranked[:max_patterns]]))
        return cls(routes)

    def routes(self) -> list[Route]:
        """The routes with their patterns and thresholds."""
        return [Route(r.name, list(r.utterances), list(r.patterns), self.thresholds.get(r.name, 0.0))
                for r in self.route_rules]

    def hits(self, text: str) -> list[int]:
        """Number of matching patterns per route, aligned with the routes (RE2 over the
        text's bounded head and tail: linear time, whatever the text and the rules)."""
        data = scored_text(text)
        return [sum(1 for p in patterns if p.search(data)) for patterns in self.compiled]

    def score_batch(self, texts: Sequence[str]) -> list[list[float]]:
        """Each route's share of the matches, plus out_of_scope = 1 when nothing matched."""
        rows = []
        for text in texts:
            counts = self.hits(text or "")
            total = sum(counts)
            rows.append([c / total for c in counts] + [0.0] if total else [0.0] * len(counts) + [1.0])
        return rows

    def decide(self, text: str, scores: dict[str, float], threshold: float | None = None,
               chain: bool = True) -> RouteChoice:
        """As the base class, with a plainer reason when no pattern matched."""
        if scores.get(OUT_OF_SCOPE, 0.0) < 1.0:
            return super().decide(text, scores, threshold, chain)
        return self._fall_through(text, scores, f"{self.kind}: no rule matched", chain)

    def save(self, folder: str | Path) -> None:
        """Write a router folder: routes.yaml and cadre.json."""
        from cadre.checkpoint import write_metadata
        from cadre.fsutil import atomic_dir
        from cadre.routing.routes import routes_to_yaml

        with atomic_dir(folder) as tmp:
            (tmp / RULES_FILE).write_text(routes_to_yaml(self.routes(), self.default_route), encoding="utf-8")
            write_metadata(tmp, {"type": "router", "router_kind": "keyword", "labels": self.labels,
                                 "thresholds": self.thresholds, "default_route": self.default_route})

    @classmethod
    def load(cls, folder: str | Path) -> "KeywordRouter":
        """Open a keyword router folder."""
        from cadre.routing.store import finish, router_meta

        meta = router_meta(folder, "keyword")
        rules = Path(folder) / RULES_FILE
        if not rules.is_file():
            raise CadreError(f"{folder}: corrupt keyword router folder (no {RULES_FILE})")
        return finish(cls.from_yaml(rules), folder, meta)


register_router("keyword", KeywordRouter, KeywordRouter.load)
