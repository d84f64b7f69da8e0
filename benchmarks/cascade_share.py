"""How many texts should the cascade send on to the ensemble? Out-of-fold share against
held-out test accuracy, on the full and the small (64-intent) data sets.

    .venv/bin/python benchmarks/cascade_share.py [--seeds 2]

For each (data set, seed): `cadre router train --kind cascade`'s two routers are fitted
with their out-of-fold predictions; for each share S, the escalation gap is the S-quantile of
the out-of-fold gaps (what `choose_gap` sets), and the table gives the cascade's test
accuracy at that gap, how many test texts it escalates, and what share the default rule chose.
In-scope texts only (CLINC's oos rows are left out of train and test: escalation is about
which in-scope route wins).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _report import table, write_section  # noqa: E402
from intent import Split, embed_all, load_data, subsample  # noqa: E402
from intent_unseen import draw  # noqa: E402

from cadre.labels import is_out_of_scope  # noqa: E402

SHARES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35)
SETS = ("banking77", "clinc150", "banking77-64", "clinc150-64")


def in_scope(split: Split) -> Split:
    return split.take(np.array([i for i, label in enumerate(split.labels) if not is_out_of_scope(label)]))


def task(name: str, seed: int) -> dict:
    import torch

    from cadre.routing.intent.cascade import CascadeRouter, _probs, cascade_accuracy, gap_limit, top_gap

    torch.set_num_threads(1)
    data = load_data()
    embed_all(data)
    splits = data[name.split("-")[0]]
    if name.endswith("-64"):
        train, test = draw(splits, 64, 50, seed)
    else:
        train, test = in_scope(subsample(splits["train"], 0.9, seed)), in_scope(splits["test"])
    router = CascadeRouter.fit(train.texts, train.labels, vectors=train.vectors, seed=seed)
    gap_oof = top_gap(_probs(router.fast))
    fast = np.asarray(router.fast.score_batch(test.texts))
    slow = np.asarray(router.slow.score_batch(test.texts, vectors=test.vectors))
    y = np.array([router.fast.classes.index(label) for label in test.labels])
    out = {"name": name, "seed": seed, "fast": float((fast.argmax(1) == y).mean()),
           "ensemble": float((slow.argmax(1) == y).mean()), "chosen": router.escalated_share, "rows": {}}
    for share in (*SHARES, router.escalated_share):
        limit = gap_limit(gap_oof, share)
        out["rows"][share] = (float(cascade_accuracy(fast, slow, y, limit).mean()),
                              float((top_gap(fast) < limit).mean()))
    print(f"{name} seed {seed}: chose {router.escalated_share}", flush=True)
    return out


def render(done: list[dict], load_before, load_after, wall_s: float) -> str:
    def cell(values):
        return f"{np.mean(values):.4f} ± {np.std(values):.4f}"

    rows = []
    for name in SETS:
        mine = [d for d in done if d["name"] == name]
        row = [name, cell([d["fast"] for d in mine]), cell([d["ensemble"] for d in mine])]
        for share in SHARES:
            row.append(f"{cell([d['rows'][share][0] for d in mine])} ({np.mean([d['rows'][share][1] for d in mine]):.0%})")
        chosen = " / ".join(f"{d['chosen']:.3g}" for d in mine)
        row.append(f"{cell([d['rows'][d['chosen']][0] for d in mine])} (share {chosen})")
        rows.append(row)
    headers = ["data set", "fast alone", "ensemble alone", *[f"share {s}" for s in SHARES], "default rule"]
    seeds = len(done) // len(SETS)
    return table(headers, rows) + "\n\n" + "\n".join([
        f"- Test accuracy (in-scope texts), mean ± sd over {seeds} seeds; in brackets, the share of test texts "
        "escalated at the gap that escalates that share out of fold. Full sets: a stratified 90% of train per "
        "seed, the whole test split; -64: 64 intents drawn per seed, 50 training texts each "
        "(benchmarks/intent_unseen.py).",
        f"- Load average (1, 5, 15 min) before: {load_before}, after: {load_after} on {os.cpu_count()} cores; "
        f"whole run {wall_s / 60:.0f} min."])


def main(argv=None) -> None:
    import multiprocessing as mp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    args = parser.parse_args(argv)
    load_before = tuple(round(x, 1) for x in os.getloadavg())
    embed_all(load_data())
    started = time.perf_counter()
    jobs = [(name, seed) for name in SETS for seed in range(args.seeds)]
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn")) as pool:
        done = list(pool.map(task, *zip(*jobs)))
    body = render(done, load_before, tuple(round(x, 1) for x in os.getloadavg()), time.perf_counter() - started)
    print(body)
    if not args.no_write:
        command = "python benchmarks/cascade_share.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section("Intent routing: the cascade's escalation share", body, command.strip())


if __name__ == "__main__":
    main()
