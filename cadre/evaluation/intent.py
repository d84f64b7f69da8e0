"""Judging an intent router on labelled texts: accuracy, macro-F1, in-scope accuracy,
out-of-scope recall, single-request latency (p50/p99) and batched throughput.

The router is duck-typed (anything with `route(text)` and `route_batch(texts)` returning
objects with `.name`), so this module stays below `cadre.routing` in the layers.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from cadre.evaluation.metrics import macro_f1

from cadre.labels import OUT_OF_SCOPE, canonical_labels


def quality(gold: Sequence[str], pred: Sequence[str]) -> dict:
    """Accuracy, macro-F1, in-scope accuracy (a rejected in-scope text counts as wrong),
    OOS recall and precision; the last three are None when there is nothing to measure
    (OOS precision too when the data has no out-of-scope example: rejecting an in-scope
    text there says nothing about telling out-of-scope texts apart)."""
    gold, pred = canonical_labels(gold), canonical_labels(pred)
    inscope = [p == g for p, g in zip(pred, gold) if g != OUT_OF_SCOPE]
    oos = [p == OUT_OF_SCOPE for g, p in zip(gold, pred) if g == OUT_OF_SCOPE]
    said = [g == OUT_OF_SCOPE for g, p in zip(gold, pred) if p == OUT_OF_SCOPE]
    mean = lambda xs: float(np.mean(xs)) if xs else None  # noqa: E731
    return {"examples": len(gold), "accuracy": mean([p == g for p, g in zip(pred, gold)]),
            "macro_f1": float(macro_f1(gold, pred)), "in_scope_accuracy": mean(inscope),
            "oos_recall": mean(oos), "oos_precision": mean(said) if oos else None, "oos_examples": len(oos)}


def latency(router, texts: Sequence[str], samples: int = 200, warmup: int = 10,
            clock=time.perf_counter, cpu: bool = False) -> dict:
    """Single-request latency over `samples` texts (cycled): p50 and p99 in milliseconds.
    `clock=time.thread_time` counts only the CPU the calling thread spent (torch and ONNX
    Runtime on one thread compute there), so a busy machine does not inflate it; `cpu`
    adds that CPU time beside the wall time (`p50_cpu_ms`, `p99_cpu_ms`)."""
    if not texts:
        return {"p50_ms": None, "p99_ms": None}
    for text in texts[:warmup]:
        router.route(text)
    times, cpu_times = [], []
    for i in range(samples):
        start, start_cpu = clock(), time.thread_time()
        router.route(texts[i % len(texts)])
        times.append(clock() - start)
        cpu_times.append(time.thread_time() - start_cpu)
    ms, cpu_ms = np.array(times) * 1000, np.array(cpu_times) * 1000
    found = {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}
    if cpu:
        found.update(p50_cpu_ms=float(np.percentile(cpu_ms, 50)), p99_cpu_ms=float(np.percentile(cpu_ms, 99)))
    return {**found, "samples": samples}


def evaluate_router(router, texts: Sequence[str], gold: Sequence[str], latency_samples: int = 200) -> dict:
    """Quality (one batched pass, timed for throughput) and single-request latency, each
    as wall time and as CPU time (user+sys of this process for the batch; of the calling
    thread per request), so that a busy machine's figures can be told apart."""
    start, start_cpu = time.perf_counter(), time.process_time()
    choices = router.route_batch(list(texts))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    report = quality(gold, [c.name for c in choices])
    report.update(batch_wall_s=elapsed, batch_cpu_s=cpu, throughput_per_s=len(texts) / max(elapsed, 1e-9),
                  throughput_per_cpu_s=len(texts) / max(cpu, 1e-9))
    report.update(latency(router, list(texts), latency_samples, cpu=True) if latency_samples else {})
    return report
