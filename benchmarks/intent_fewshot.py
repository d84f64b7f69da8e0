"""The few-examples rows of benchmarks/intent.py (`--few-shot N`): every in-scope intent of
Banking77 (77) and CLINC150 (150) with N training texts each (drawn per seed), tested on
every in-scope test text. Side by side: plain MiniLM + scikit-learn's
`LogisticRegression()` (defaults), and `auto` with its defaults (no `--val`: 5-fold
cross-validation on the N-per-intent data; no fine-tuning unless `--train-budget`).
Accuracy counts a threshold rejection as wrong. auto's CPU seconds (user+sys of its
process) are recorded too.

    .venv/bin/python benchmarks/intent.py --few-shot 10 --seeds 3
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _report import table, write_section  # noqa: E402
from intent import Split, embed_all, judge, load_data  # noqa: E402
from intent_unseen import draw, plain  # noqa: E402

SOURCES = ("banking77", "clinc150")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def task(source: str, seed: int, per_class: int, train_budget: float | None, tmp: str) -> dict:
    """One (data set, seed): the baseline's and auto's in-scope test accuracy."""
    import torch

    from cadre.routing.intent.auto import AutoOptions, run_auto
    from cadre.routing.intent.encoders import MINILM
    from cadre.training.router_fit import nano_trainer

    torch.set_num_threads(1)
    data = load_data()
    embed_all(data)
    train, test = draw(data[source], 10_000, per_class, seed)
    out = {"source": source, "seed": seed, "lr": plain("plain_lr", train, test)}
    start, wall = cpu_seconds(), time.perf_counter()
    result = run_auto(train.texts, train.labels, AutoOptions(seed=seed, train_budget=train_budget),
                      Path(tmp) / f"{source}_{seed}", nano=nano_trainer("nano", None, 32, None),
                      vectors={MINILM: train.vectors}, log=lambda line: print(f"  {source} {seed}: {line}", flush=True))
    out.update(auto_cpu_s=cpu_seconds() - start, auto_wall_s=time.perf_counter() - wall, choice=result.chosen.kind)
    out["auto"] = judge(result.router, Split(test.texts, test.labels, test.vectors))["accuracy"]
    print(f"{source} seed {seed}: LR {out['lr']:.4f} auto {out['auto']:.4f} ({out['choice']}, "
          f"{out['auto_cpu_s']:.0f} CPU-s)", flush=True)
    return out


def run(seeds: int, per_class: int, train_budget: float | None, jobs: int) -> list[dict]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with tempfile.TemporaryDirectory() as tmp, \
            ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        tasks = [(s, seed) for seed in range(seeds) for s in SOURCES]
        return list(pool.map(task, *zip(*tasks), [per_class] * len(tasks), [train_budget] * len(tasks),
                             [tmp] * len(tasks)))


def cell(values) -> str:
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def render(done: list[dict], per_class: int, seeds: int, load: tuple) -> str:
    rows = []
    for source in SOURCES:
        runs = [d for d in done if d["source"] == source]
        gain = [d["auto"] - d["lr"] for d in runs]
        rows.append([source, cell([d["lr"] for d in runs]), cell([d["auto"] for d in runs]), cell(gain),
                     " / ".join(d["choice"] for d in runs), cell([d["auto_cpu_s"] for d in runs])])
    notes = [f"- {per_class} training texts per in-scope intent, drawn per seed ({seeds} seeds: mean ± standard "
             "deviation); tested on every in-scope test text; a threshold rejection counts as wrong. auto CPU-s: "
             "user+sys of its fit, MiniLM vectors precomputed (cached) and so left out. Load average "
             f"(1, 5, 15 min) at the start: {load}."]
    return table(["data", "MiniLM + LogisticRegression()", "auto (defaults)", "auto − LR", "auto chose",
                  "auto CPU-s"], rows) + "\n\n" + "\n".join(notes)


def report(args, argv) -> None:
    """`benchmarks/intent.py --few-shot N`: the N-per-intent rows, printed and written."""
    load = tuple(round(x, 1) for x in os.getloadavg())
    embed_all(load_data())
    body = render(run(args.seeds, args.few_shot, args.train_budget, args.jobs), args.few_shot, args.seeds, load)
    print(body)
    if not args.no_write:
        command = "python benchmarks/intent.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section(f"Intent routing with {args.few_shot} examples per intent", body, command.strip())
