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

A metric that is not a mean over examples (macro F1: a constant answer scores well on
accuracy when one class dominates) is bootstrapped whole: each resample recomputes the
metric for both models on the same drawn examples (`compare_metric`); the sign test still
runs over the per-example correctness, so a handful of examples cannot pass either.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable

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


def compare_metric(truth: list, specialist: list, primary: list, metric: Callable[[list, list], float],
                   confidence: float = CONFIDENCE, resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """Paired evidence on a whole-sample metric (e.g. macro F1) of two prediction lists
    against `truth`: the bootstrap redraws example indices and recomputes
    metric(specialist) - metric(primary); the sign test counts per-example correctness.
    The same dict as `compare`, with "specialist"/"primary" the metric's values."""
    n = len(truth)
    if not (len(specialist) == len(primary) == n):
        raise ValueError(f"paired predictions differ in length: {len(specialist)}, {len(primary)} vs {n}")
    right_s = [float(s == t) for s, t in zip(specialist, truth)]
    right_p = [float(p == t) for p, t in zip(primary, truth)]
    signs = compare(right_s, right_p, confidence, seed)
    if n == 0:
        return {**signs, "diff": 0.0, "confident_win": False}
    full = metric(truth, specialist) - metric(truth, primary)
    rng, diffs = random.Random(seed), []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        t = [truth[i] for i in idx]
        diffs.append(metric(t, [specialist[i] for i in idx]) - metric(t, [primary[i] for i in idx]))
    diffs.sort()
    lower = diffs[max(0, math.floor((1 - confidence) * resamples) - 1)]
    return {**signs, "specialist": metric(truth, specialist), "primary": metric(truth, primary),
            "diff": round(full, 6), "lower": round(lower, 6),
            "confident_win": bool(full > 0 and lower > 0 and signs["sign_p"] < 1 - confidence)}


def describe(route: str, evidence: dict) -> str:
    """`route: specialist − primary ≥ +0.31 (95%)`: the gate as a route reason shows it."""
    lower = evidence.get("lower")
    bound = "n/a" if lower is None else f"{lower:+.2f}"
    return f"{route}: specialist − primary ≥ {bound} ({round(100 * evidence.get('confidence', CONFIDENCE))}%)"
