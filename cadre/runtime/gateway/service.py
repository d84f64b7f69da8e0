"""The engine's gateway part: learned choices → plans with failover, cost estimates, and
one decision record per routed request."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from cadre.runtime.gateway.decisions import DecisionLog, new_request_id
from cadre.runtime.gateway.failover import Cooldowns, FailoverBackend
from cadre.runtime.gateway.learned import BudgetVariants, LearnedChoice, check_learned_routers, decide, decide_batch

log = logging.getLogger("cadre.runtime")


class Gateway:
    """Learned-router label maps, cool-downs and the decision log of one engine."""

    def __init__(self, config, registry, manager):
        settings = config.gateway
        self.registry, self.manager, self.settings = registry, manager, settings
        self.labels = check_learned_routers(registry, config.router.labels)  # errors at start-up
        self.cooldowns = Cooldowns(settings.allowed_fails, settings.fail_window_s, settings.cooldown_s)
        self.variants = BudgetVariants()
        self.log = None
        if settings.decision_log:
            path = Path(settings.decision_log).expanduser()
            path = path if path.is_absolute() else Path(config.base_dir) / path
            self.log = DecisionLog(path, settings.log_prompts, settings.log_max_bytes(), settings.decision_log_keep)
        self.fallbacks = 0

    def close(self) -> None:
        """Close the decision log's file."""
        if self.log is not None:
            self.log.close()

    def is_learned(self, name: str | None) -> bool:
        """Whether a registry model is a learned router."""
        return name in self.labels

    def choose(self, name: str, router, text: str, budget: float | None) -> LearnedChoice:
        """A learned router's own decision (at `budget`'s operating point when given)."""
        return decide(router, self.variants.get(router, budget), text, name, self.labels[name])

    def choose_batch(self, name: str, router, texts: list[str], budget: float | None) -> list[LearnedChoice]:
        """`choose` for many texts with one featurising call."""
        return decide_batch(router, self.variants.get(router, budget), texts, name, self.labels[name])

    def chain(self, choice: LearnedChoice, on_answer=None) -> FailoverBackend:
        """The failover backend over the choice's ranking (only the chosen model when
        failover is off), with its first model already acquired."""
        ranking = choice.ranking if self.settings.failover else choice.ranking[:1]
        chain = FailoverBackend(self.manager, ranking, self.cooldowns, on_answer)
        chain.acquire_first()
        return chain

    def estimate_cost(self, model: str, usage, choice) -> float | None:
        """The cost of one call: tokens × the registry price when both are known, else the
        router's expected cost for that model."""
        spec = self.registry.get(model) if model in self.registry else None
        tokens = usage.prompt_tokens + usage.completion_tokens if usage is not None else 0
        if spec is not None and spec.cost_per_1k_tokens > 0 and tokens > 0:
            return spec.cost_per_1k_tokens * tokens / 1000
        costs = getattr(choice, "costs", None) or {}
        if model in costs:
            return float(costs[model])
        return spec.cost_per_1k_tokens * tokens / 1000 if spec is not None else 0.0

    def record(self, plan, requested: str, prompt: str, started: float, usage, status: str,
               error: str | None = None) -> None:
        """Append the decision of one routed request (never raises: the answer matters more)."""
        chain = getattr(plan, "chain", None)
        fallbacks = chain.attempts.fallbacks if chain is not None else []
        self.fallbacks += len(fallbacks)
        if self.log is None or plan.request_id is None:
            return
        choice = plan.route
        record = {"id": plan.request_id, "requested": requested, "route": getattr(choice, "name", None),
                  "reason": plan.reason, "model": plan.model,
                  "router": getattr(choice, "router", None) or None,
                  "candidates": _candidates(choice), "fallbacks": fallbacks,
                  "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                  "tokens": {"prompt": getattr(usage, "prompt_tokens", 0),
                             "completion": getattr(usage, "completion_tokens", 0)},
                  "cost": plan.cost, "status": status}
        if getattr(choice, "labels", None):
            record["label"] = choice.labels.get(plan.model)
        if error:
            record["error"] = error[:300]
        try:
            self.log.decision(record, prompt)
        except (OSError, ValueError) as exc:
            log.error("decision log %s: %s", self.log.path, exc)

    def counts(self) -> dict:
        """Failover counters for /metrics: candidates passed over, cool-downs, models cooling."""
        return {"gateway_fallbacks": self.fallbacks,
                "gateway_cooldowns_started": self.cooldowns.cooldowns_started,
                "gateway_models_cooling": len(self.cooldowns.snapshot())}

    def request_id(self) -> str:
        """A fresh request id."""
        return new_request_id()

    def feedback_token(self, request_id: str | None) -> str | None:
        """The token feedback on this request must carry (None without a decision log)."""
        return self.log.token_for(request_id) if self.log is not None and request_id else None


def _candidates(choice) -> dict:
    """Each candidate's P (and expected cost, for a learned choice)."""
    if choice is None:
        return {}
    if isinstance(choice, LearnedChoice):
        by_label = choice.labels
        return {m: {"label": by_label.get(m), "p": round(float(choice.scores.get(by_label.get(m), 0.0)), 4),
                    "cost": choice.costs.get(m)} for m in choice.ranking}
    return {k: {"p": round(float(v), 4)} for k, v in (choice.scores or {}).items()}
