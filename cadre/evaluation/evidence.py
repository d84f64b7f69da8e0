"""Paired evidence that one model beats another on the same examples.

A gate must tell a win from noise: 4 wins out of 6 by a hair is not a win. Two paired
tests over per-example scores (specialist and primary on the *same* examples):

- a paired bootstrap of the mean difference (seeded), whose one-sided lower bound at
  `confidence` is what the gate reports ("specialist − primary ≥ +0.31 (95%)");
- a one-sided sign test over the examples where the two differ, which keeps a handful of
  examples from passing on the bootstrap alone (5 straight wins are needed at 95%).

A specialist wins with confidence only when both agree: lower bound > 0 and sign-test
p < 1 − confidence. No sample size lets a specialist whose mean is not above the
primary's pass.
"""
from __future__ import annotations

import math
import random

CONFIDENCE = 0.95
RESAMPLES = 2000


def bootstrap_lower(diffs: list[float], confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                    seed: int = 0) -> float:
    """One-sided lower bound at `confidence` of the mean of `diffs` (paired bootstrap)."""
    n = len(diffs)
    if n == 0:
        return float("-inf")
    rng = random.Random(seed)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return means[max(0, math.floor((1 - confidence) * resamples) - 1)]


def sign_test_p(wins: int, losses: int) -> float:
    """One-sided sign-test p-value of `wins` against `losses` (ties dropped): the chance of
    at least `wins` heads in wins + losses fair coin flips."""
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2 ** n


def compare(specialist: list[float], primary: list[float], confidence: float = CONFIDENCE,
            seed: int = 0) -> dict:
    """The paired evidence of specialist over primary on the same examples, as a JSON-able
    dict: means, mean difference, its lower bound, wins/losses/ties, the sign test and
    whether the specialist wins with confidence."""
    if len(specialist) != len(primary):
        raise ValueError(f"paired scores differ in length: {len(specialist)} vs {len(primary)}")
    diffs = [s - p for s, p in zip(specialist, primary)]
    n = len(diffs)
    wins, losses = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    lower = bootstrap_lower(diffs, confidence, seed=seed)
    p_sign = sign_test_p(wins, losses)
    mean = sum(diffs) / n if n else 0.0
    return {"n": n, "specialist": sum(specialist) / n if n else None, "primary": sum(primary) / n if n else None,
            "diff": round(mean, 6), "lower": round(lower, 6) if n else None, "confidence": confidence,
            "wins": wins, "losses": losses, "ties": n - wins - losses, "sign_p": round(p_sign, 6),
            "confident_win": bool(n and mean > 0 and lower > 0 and p_sign < 1 - confidence)}


def describe(route: str, evidence: dict) -> str:
    """`route: specialist − primary ≥ +0.31 (95%)`: the gate as a route reason shows it."""
    lower = evidence.get("lower")
    bound = "n/a" if lower is None else f"{lower:+.2f}"
    return f"{route}: specialist − primary ≥ {bound} ({round(100 * evidence.get('confidence', CONFIDENCE))}%)"
