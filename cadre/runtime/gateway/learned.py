"""Learned routing in the serving path: a learned router's own policy picks the registry
model that answers, and ranks the others for failover.

A learned-router folder is registered like any router (capability
`intent_classification`, backend `local`). Its labels are registry model names, or are
mapped to them by `router.labels` in the project file; a label that names no model is
an error at start-up. `router-learned-<budget>` re-picks the operating point from the
router's saved validation curve: the point that spends at most <budget> per query.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from cadre.errors import CadreError
from cadre.routing.base import RouteChoice
from cadre.routing.store import saved_router

LEARNED_KIND = "learned"


@dataclass
class LearnedChoice(RouteChoice):
    """A learned router's decision: the chosen registry model first in `ranking`, then the
    others in the order failover tries them; P(correct) and expected cost of each."""

    router: str = ""
    ranking: list[str] = field(default_factory=list)
    costs: dict[str, float] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # registry model → router label


def learned_labels(path: str | None) -> list[str] | None:
    """The labels of a learned-router folder (read from cadre.json, nothing loaded), or
    None when the folder is not a learned router; a broken folder is a CadreError."""
    meta = saved_router(path)
    if not meta or meta.get("router_kind") != LEARNED_KIND:
        return None
    return list(meta.get("models") or [])


def label_map(router_name: str, labels: list[str], mapping: dict[str, str], registry) -> dict[str, str]:
    """Router label → registry model; a label with no model is a one-line CadreError."""
    out, missing = {}, []
    for label in labels:
        target = mapping.get(label, label)
        if target in registry:
            out[label] = target
        else:
            missing.append(label)
    if missing:
        raise CadreError(f"learned router {router_name!r}: label(s) {missing} name no registry model; "
                         f"add models with those names or map them under router.labels "
                         f"(models: {', '.join(registry.names())})")
    return out


def check_learned_routers(registry, mapping: dict[str, str]) -> dict[str, dict[str, str]]:
    """Every learned router in the registry → its label map (checked at start-up)."""
    from cadre.runtime.registry import ModelCapability

    found = {}
    for spec in registry.candidates(ModelCapability.INTENT_CLASSIFICATION):
        labels = learned_labels(spec.path)
        if labels is not None:
            found[spec.name] = label_map(spec.name, labels, mapping, registry)
    return found


class BudgetVariants:
    """The rules (routing/learned/policy.Rule) of loaded learned routers at other
    operating points (bounded, thread-safe); the router itself is never copied or changed."""

    def __init__(self, limit: int = 32):
        self.limit, self._cache, self._lock = limit, {}, threading.Lock()

    def get(self, router, budget: float | None):
        """The router's own rule, or its rule at the point that spends at most `budget`."""
        from cadre.routing.learned import policy

        if budget is None:
            return policy.rule_of(router)
        key = (id(router), float(budget))
        with self._lock:
            if key not in self._cache:
                if len(self._cache) >= self.limit:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = policy.rule_at_budget(router, budget)
            return self._cache[key]


def decide(router, rule, text: str, router_name: str, labels: dict[str, str]) -> LearnedChoice:
    """The router's choice for `text` under `rule` (as `LearnedRouter.route`), plus a failover ranking."""
    return decide_batch(router, rule, [text], router_name, labels)[0]


def decide_batch(router, rule, texts: list[str], router_name: str, labels: dict[str, str]) -> list[LearnedChoice]:
    """`decide` for many texts with one featurising and scoring call (the router's public API)."""
    X = router.features(list(texts))  # the router's own encoder (static token table or MiniLM)
    P, costs = router.predict_arrays(X, list(texts))  # (N, M) each
    to_model = {label: labels[label] for label in router.labels}
    return [_choice(rule, router_name, to_model, p, c, int(j))
            for p, c, j in zip(P, costs, rule.choose(P, costs))]


def _choice(rule, router_name: str, to_model: dict[str, str], p: np.ndarray, costs: np.ndarray,
            j: int) -> LearnedChoice:
    name, score, scores, reason = rule.explain(p, costs, j)
    order = [j] + [int(k) for k in rule.rank(p, costs) if int(k) != j]
    ranking = list(dict.fromkeys(to_model[rule.labels[k]] for k in order))
    return LearnedChoice(to_model[name], score, scores, reason, router=router_name, ranking=ranking,
                         costs={to_model[m]: float(c) for m, c in zip(rule.labels, costs)},
                         labels={v: k for k, v in to_model.items()})
