"""Cost per 1,000 requests of one scoreboard side, from what its job measured.

A priced model (its registry row's `cost_per_1k_tokens` > 0, an API model) costs its
measured tokens (prompt + completion, per request) times that price. A local model, the
router or a tool costs the CPU-seconds its requests took, priced by the CPU-hour of the
machine that would serve it (`CPU_HOUR_USD`, an AWS c7i.large on demand: $0.08925 per hour
for 2 vCPUs; docs/fleet.md lists the prices).
"""
from __future__ import annotations

CPU_HOUR_USD = 0.08925 / 2


def per_1k(engine, side) -> float | None:
    """USD per 1,000 requests like the ones `side` answered (None when nothing was measured)."""
    price = 0.0
    if side.model in getattr(engine, "registry", ()):
        price = float(getattr(engine.registry.get(side.model), "cost_per_1k_tokens", 0.0) or 0.0)
    if price > 0 and side.tokens:
        return round(sum(side.tokens) / len(side.tokens) * price, 6)  # per request x 1000 / 1000 tokens
    if side.cpu_s:
        return round(sum(side.cpu_s) / len(side.cpu_s) * 1000 * CPU_HOUR_USD / 3600, 6)
    return None
