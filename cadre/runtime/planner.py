"""Which models to load for a memory budget: `cadre models plan --budget 2GB` and
`auto_assign_models(max_memory)` (seed 002's roadmap call).

The rule (RULE below, printed with every plan): the primary is always chosen; of the other
models that could serve, the set that fits the budget and
1. covers the most capabilities, then
2. has the highest summed priority of the models that would serve them (per capability,
   the chosen model with the highest priority, then the highest recorded scoreboard score),
3. then the highest summed recorded score of those models,
4. then takes the least memory.
A model that could not serve is left out with the reason: its files are missing, its size
is unknown, or its recorded scoreboard score loses to the primary's (the gate would send
its route to the primary anyway). Remote models take no local memory and are always kept.
Memory is each model's estimate (`memory_mb`, else its weight files), as the manager
reserves before a load; LoRA adapters that share a base count the base once
(docs/multi_lora.md), each adapter at its own size.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from cadre.errors import CadreError
from cadre.runtime.registry import ModelSpec, Registry

RULE = ("primary always; then the set that fits and covers the most capabilities, then the highest "
        "summed priority of the models serving them, then the highest summed recorded score, then the "
        "least memory")
MAX_EXACT = 16  # beyond this many candidates the search is greedy (2^16 sets is still quick)


@dataclass
class Candidate:
    """One model as the planner sees it."""

    spec: ModelSpec
    bytes: int                      # local memory it reserves (0 for a remote model)
    score: float | None = None      # recorded scoreboard score, if any
    why: str = ""                   # why it was chosen or left out
    base: tuple[str, int] | None = None  # a LoRA adapter: (its shared base, the base's bytes)

    @property
    def rank(self) -> tuple[int, float]:
        """How it ranks for a capability it shares with another chosen model."""
        return (self.spec.priority, self.score or 0.0)


@dataclass
class ModelPlan:
    """The chosen models, the ones left out (each with its reason) and the rule."""

    budget: int
    chosen: list[Candidate]
    left_out: list[Candidate] = field(default_factory=list)
    rule: str = RULE

    @property
    def names(self) -> list[str]:
        return [c.spec.name for c in self.chosen]

    @property
    def total_bytes(self) -> int:
        return footprint(self.chosen)

    def capabilities(self) -> dict[str, str]:
        """Capability → the chosen model that would serve it."""
        return serving(self.chosen)

    def apply(self, manager) -> list[str]:
        """Load the chosen local models into a ModelManager now; returns their names."""
        loaded = [c.spec.name for c in self.chosen if c.bytes and c.spec.name in manager.slots]
        for name in loaded:
            manager.load(name)
        return loaded

    def to_dict(self) -> dict:
        row = lambda c: {"name": c.spec.name, "bytes": c.bytes, "base": c.base[0] if c.base else None,  # noqa: E731
                         "priority": c.spec.priority,
                         "score": c.score, "capabilities": [x.value for x in c.spec.capabilities], "why": c.why}
        return {"budget_bytes": self.budget, "total_bytes": self.total_bytes, "rule": self.rule,
                "chosen": [row(c) for c in self.chosen], "left_out": [row(c) for c in self.left_out],
                "serving": self.capabilities()}


def serving(chosen: list[Candidate]) -> dict[str, str]:
    """For each capability the chosen set covers, the model that ranks first for it."""
    best: dict[str, Candidate] = {}
    for cand in chosen:
        for cap in cand.spec.capabilities:
            # a specialist (a LoRA adapter) is reached by a route naming it, so each one
            # covers its own route rather than competing with the others for one capability
            key = f"{cap.value}:{cand.spec.name}" if cap.value == "specialist" else cap.value
            if key not in best or cand.rank > best[key].rank:
                best[key] = cand
    return {cap: c.spec.name for cap, c in best.items()}


def value(chosen: list[Candidate]) -> tuple:
    """The rule as a sort key: larger is better."""
    by_name = {c.spec.name: c for c in chosen}
    served = [by_name[name] for name in serving(chosen).values()]
    return (len(served), sum(c.spec.priority for c in served), sum(c.score or 0.0 for c in served),
            -footprint(chosen))


def footprint(cands: list[Candidate]) -> int:
    """Bytes of a set of models: each its own, plus each shared LoRA base once."""
    return sum(c.bytes for c in cands) + sum(dict(c.base for c in cands if c.base).values())


def slot_estimate(slot) -> int | None:
    """What the manager reserves for a slot: an adapter alone counts its own tensors (its
    base is counted once, by the shared base), a remote model nothing, else reserve_bytes."""
    if slot.base is not None and not slot.spec.memory_mb:
        from cadre.runtime.backends.lora_host import adapter_estimate

        return adapter_estimate(slot.spec.path)
    return 0 if slot.device == "remote" else reserve_bytes(slot.spec, slot.device)


def reserve_bytes(spec: ModelSpec, device: str = "cpu") -> int | None:
    """What the manager reserves before loading a model: 0 for a remote one, `memory_mb`,
    else the backend's estimate from its files; None when unknown."""
    from cadre.runtime.backends.base import get_backend

    from cadre.runtime.backends.identity import loads_here

    if not loads_here(spec) and not spec.path:
        return 0
    if spec.memory_mb:
        return int(spec.memory_mb * 1e6)
    try:
        return get_backend(spec.backend)(spec, device).estimate_bytes()
    except Exception:  # an unknown size is not an error until the model is used
        return None


def planned_bytes(spec: ModelSpec) -> int | None:
    """`reserve_bytes` for a model whose files are there; ModelFilesMissing when they are not."""
    from cadre.runtime.backends.local import MissingPath, source_kind
    from cadre.runtime.errors import ModelFilesMissing

    from cadre.runtime.backends.identity import loads_here

    if loads_here(spec):
        try:
            source_kind(spec.path)
        except MissingPath:
            raise ModelFilesMissing(spec.name, spec.path, spec.capabilities) from None
    return reserve_bytes(spec)


def auto_assign_models(max_memory: float | str | None = None, *, max_vram: float | str | None = None,
                       config=None) -> ModelPlan:
    """Seed 002's `auto_assign_models(max_vram=8)`: the plan for a budget in GB (a number)
    or a size string ("8GB"), for a project (default: the one in effect). Load it with
    `plan.apply(manager)`."""
    from cadre.config import find_config, parse_size

    budget = max_memory if max_memory is not None else max_vram
    if budget is None:
        raise CadreError("give max_memory (GB, or a size such as 8GB)")
    try:
        size = int(float(budget) * 1e9) if isinstance(budget, (int, float)) else parse_size(budget)
    except ValueError as exc:
        raise CadreError(str(exc)) from None
    if size <= 0:
        raise CadreError(f"the budget must be positive, not {budget!r}")
    project = config if config is not None and not isinstance(config, str) else find_config(config)
    return plan_models(Registry.from_config(project), size)


def plan_models(registry: Registry, budget: int, estimate=planned_bytes) -> ModelPlan:
    """The plan for a registry; `estimate(spec)` gives a model's bytes or None (unknown),
    and raises CadreError when it cannot load (its files are missing)."""
    primary = registry.primary()
    cands, left = [], []
    for spec in registry:
        cand, problem = _candidate(spec, primary.name, estimate)
        (left if problem else cands).append(cand)
    main = next((c for c in cands if c.spec.name == primary.name), None)
    if main is None:
        raise CadreError(f"the primary {primary.name!r} cannot be planned: "
                         f"{next(c.why for c in left if c.spec.name == primary.name)}")
    if footprint([main]) > budget:
        raise CadreError(f"the primary {primary.name!r} needs ~{_h(footprint([main]))}, more than the budget "
                         f"{_h(budget)}")
    main.why = "the primary: always chosen"
    remote = [c for c in cands if c is not main and footprint([c]) == 0]
    local = [c for c in cands if c is not main and footprint([c]) > 0]
    best = _search([main, *remote], local, budget)
    for cand in remote:
        cand.why = "remote: takes no local memory"
    _explain(best, [c for c in local if c not in best], left, budget)
    return ModelPlan(budget, best, left)


def _candidate(spec: ModelSpec, primary: str, estimate) -> tuple[Candidate, bool]:
    from cadre.runtime.gates import recorded_score, verdict

    record = recorded_score(spec.path) if spec.path else None
    cand = Candidate(spec, 0, float(record["score"]) if record else None)
    try:
        size = estimate(spec)
    except CadreError as exc:
        cand.why = f"cannot load: {exc}"
        return cand, True
    if size is None:
        cand.why = "size unknown: give it memory_mb in the project file"
        return cand, True
    cand.bytes = int(size)
    cand.base = _shared_base(spec)
    if cand.base:  # the adapter alone: its base is counted once for all its siblings
        from cadre.runtime.backends.lora_host import adapter_estimate

        cand.bytes = adapter_estimate(spec.path)
    gated = spec.name != primary and "intent_classification" not in {c.value for c in spec.capabilities}
    found = verdict(spec, primary) if gated else None
    if found is not None and not found.allowed:
        cand.why = f"would not serve: {found.reason}"
        return cand, True
    return cand, False


def _search(fixed: list[Candidate], pool: list[Candidate], budget: int) -> list[Candidate]:
    """The best set by `value` among those that fit: every subset, or greedy past MAX_EXACT."""
    if len(pool) > MAX_EXACT:
        chosen = list(fixed)
        for cand in sorted(pool, key=lambda c: (-c.spec.priority, -(c.score or 0), c.bytes)):
            if footprint(chosen + [cand]) <= budget and value(chosen + [cand]) > value(chosen):
                chosen.append(cand)
        return chosen
    best, best_value = list(fixed), value(fixed)
    for n in range(1, len(pool) + 1):
        for subset in itertools.combinations(pool, n):
            if footprint(fixed + list(subset)) <= budget and (v := value(fixed + list(subset))) > best_value:
                best, best_value = fixed + list(subset), v
    return best


def _explain(chosen: list[Candidate], unchosen: list[Candidate], left: list[Candidate], budget: int) -> None:
    serves = serving(chosen)
    for cand in chosen:
        if cand.why:
            continue
        caps = [cap for cap, name in serves.items() if name == cand.spec.name]
        cand.why = (f"serves {', '.join(caps)} (priority {cand.spec.priority}"
                    + (f", score {cand.score:.2f})" if cand.score is not None else ")")
                    if caps else "fits and adds nothing better: kept as a spare")
    used = footprint(chosen)
    for cand in unchosen:
        if footprint(chosen + [cand]) > budget:
            cand.why = f"does not fit: needs ~{_h(footprint(chosen + [cand]) - used)}, {_h(budget - used)} left"
        else:
            cand.why = "fits, but a chosen model serves its capabilities at higher priority or score"
        left.append(cand)


def _shared_base(spec: ModelSpec) -> tuple[str, int] | None:
    """(base, its estimated bytes) for a LoRA adapter served on a shared base, else None."""
    from cadre.runtime.backends.base import get_backend
    from cadre.runtime.backends.lora_host import base_estimate

    if spec.memory_mb:
        return None  # an explicit size is the model's whole reservation
    try:
        key = getattr(get_backend(spec.backend), "base_key", lambda _spec: None)(spec)
    except CadreError:
        return None
    return (key, base_estimate(key) or 0) if key else None


def _h(n: int) -> str:
    from cadre.runtime.memory import human

    return human(n)
