"""What one learned-router decision costs, in process: static token-vector features
against MiniLM features, on RouterBench prompts routed one at a time (as the gateway's
`model="auto"` does), with one thread.

Both routers are `linear` learned routers fit on the same 300 RouterBench training rows
(the decision time does not depend on the fit size); 300 test prompts are then routed one
by one through `cadre.runtime.gateway.learned.decide`, the gateway's call. Reported: p50
and p99 wall milliseconds per decision and CPU milliseconds per decision, for a cold
block cache (each prompt seen once) and for prompts whose few-shot blocks were seen before.

    python benchmarks/learned_route_latency.py [--rows 300] [--texts static,minilm] [--no-write]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import table, write_section  # noqa: E402
from benchmarks.learned_router import load_routerbench, split_tables  # noqa: E402
from cadre.routing.learned.features import FeatureSpec  # noqa: E402
from cadre.routing.learned.router import LearnedRouter, fit_learned  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def time_decisions(router, prompts: list[str]) -> dict:
    """Route each prompt alone through the gateway's decide(); wall and CPU per decision."""
    from cadre.runtime.gateway.learned import decide

    labels = {m: m for m in router.labels}
    walls, c0 = [], cpu()
    for p in prompts:
        t = time.perf_counter()
        decide(router, p, "learned", labels)
        walls.append((time.perf_counter() - t) * 1000)
    return {"p50": float(np.percentile(walls, 50)), "p99": float(np.percentile(walls, 99)),
            "cpu_ms": (cpu() - c0) * 1000 / len(prompts)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--texts", default="static,minilm", help="text features to time")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    rows, is_train = load_routerbench()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        train, test = split_tables(rows, is_train, Path(tmp), "rb")
        train = train.subset(range(args.rows))
        prompts = test.prompts[: args.rows]
        for text in args.texts.split(","):
            folder = Path(tmp) / text
            fit_learned(train, folder, kind="linear", folds=3, spec=FeatureSpec(text=text), cache=False)
            router = LearnedRouter(folder)
            time_decisions(router, prompts[:20])  # warm-up: imports, first calls
            if router.encoder is not None:
                router.encoder.cache.clear()
            cold = time_decisions(router, prompts)
            warm = time_decisions(router, prompts)
            out.append([text, f"{cold['p50']:.2f}", f"{cold['p99']:.2f}", f"{cold['cpu_ms']:.2f}",
                        f"{warm['p50']:.2f}", f"{warm['cpu_ms']:.2f}"])
            print(out[-1], flush=True)
    mean_chars = np.mean([len(p) for p in prompts])
    body = "\n\n".join([
        f"{len(prompts)} RouterBench test prompts (mean {mean_chars:.0f} characters), each routed alone "
        f"through the gateway's `decide` by a `linear` learned router fit on {args.rows} train rows; "
        f"1 thread. Load average at the start: {load} (2 cores; above about 2 the figures are inflated).",
        table(["text features", "p50 ms (first sight)", "p99 ms", "CPU ms / decision",
               "p50 ms (blocks seen)", "CPU ms / decision (blocks seen)"], out)])
    print(body)
    if not args.no_write:
        cmd = "python benchmarks/learned_route_latency.py" + (f" --rows {args.rows}" if args.rows != 300 else "")
        write_section("Learned router: one decision's cost", body, cmd)


if __name__ == "__main__":
    main()
