"""Fine-tuning recipes for `--kind finetune` on Banking77: the whole encoder (the kind's
recipe) against LoRA adapters on a frozen encoder, with the same head, schedule, epochs and
seeds. Issue 28 asked for both to be measured and the winner kept.

    .venv/bin/python benchmarks/intent_lora.py [--seeds 3] [--jobs 2] [--rank 16]

Each seed trains on the stratified 90% of Banking77 train that benchmarks/intent.py uses and
tests on all 3,080 test texts (argmax of the torch module: no threshold). One torch thread a
run; the two recipes of a seed run side by side, so their times share the machine alike.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _report import table, write_section  # noqa: E402

LORA_LR = 5e-4  # LoRA's usual peak rate (10x the full recipe's 5e-5): adapters start at zero


@contextlib.contextmanager
def lora(rank: int):
    """While open, the trainer wraps the encoder in LoRA adapters (query, key, value, every dense)."""
    from peft import LoraConfig, get_peft_model

    from cadre.routing.intent import finetune_train

    build = finetune_train.Classifier.build
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.1,
                        target_modules=["query", "key", "value", "dense"])
    finetune_train.Classifier.build = staticmethod(lambda bert, n: build(get_peft_model(bert, config), n))
    try:
        yield
    finally:
        finetune_train.Classifier.build = staticmethod(build)


def task(recipe: str, seed: int, rank: int) -> dict:
    """Train one recipe on one seed's subset; test accuracy, trainable parameters, cost."""
    import torch

    import intent
    from cadre.routing.intent.auto_cv import EMBEDDING_HEAD
    from cadre.routing.intent.finetune_train import FinetuneConfig, finetune, logits
    from cadre.routing.intent.heads import fit_head

    torch.set_num_threads(1)
    data = intent.load_data()["banking77"]
    intent.embed_all({"banking77": data})
    train, test = intent.subsample(data["train"], 0.9, seed), data["test"]
    classes = sorted(set(train.labels))
    y = np.array([classes.index(label) for label in train.labels])
    cfg = FinetuneConfig(seed=seed, **({"lr": LORA_LR} if recipe == "lora" else {}))
    before = resource.getrusage(resource.RUSAGE_SELF)
    with lora(rank) if recipe == "lora" else contextlib.nullcontext():
        model, tokenizer, report = finetune(train.texts, y, len(classes), cfg,
                                            fit_head(train.vectors, y, len(classes), **EMBEDDING_HEAD))
    after = resource.getrusage(resource.RUSAGE_SELF)
    predicted = logits(model, tokenizer, test.texts, cfg.max_tokens).argmax(axis=1)
    return {"recipe": recipe, "seed": seed, "epochs": report["epochs"], "wall_s": report["seconds"],
            "acc": float(np.mean([classes[p] == label for p, label in zip(predicted, test.labels)])),
            "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def paired_interval(gap: np.ndarray) -> str:
    """Mean of the paired per-seed differences with its 95% t interval."""
    from scipy import stats

    if len(gap) < 2:
        return f"mean {gap.mean():+.4f} (one seed: no interval)"
    half = stats.t.ppf(0.975, len(gap) - 1) * gap.std(ddof=1) / np.sqrt(len(gap))
    return f"mean {gap.mean():+.4f}, 95% interval [{gap.mean() - half:+.4f}, {gap.mean() + half:+.4f}]"


def render(done: list[dict], args, load_before, load_after) -> str:
    def spread(values) -> str:
        return f"{np.mean(values):.4f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.4f}"

    names = {"full": "whole encoder (the `finetune` recipe, lr 5e-5)",
             "lora": f"LoRA r={args.rank} on query, key, value and dense (lr {LORA_LR:g})"}
    rows, acc = [], {}
    for recipe in ("full", "lora"):
        runs = sorted((r for r in done if r["recipe"] == recipe), key=lambda r: r["seed"])
        acc[recipe] = [r["acc"] for r in runs]
        rows.append([names[recipe], f"{runs[0]['trainable']:,}", spread(acc[recipe]),
                     " / ".join(f"{a:.4f}" for a in acc[recipe]), "/".join(f"{r['epochs']:g}" for r in runs),
                     f"{np.mean([r['wall_s'] for r in runs]):.0f}", f"{np.mean([r['cpu_s'] for r in runs]):.0f}"])
    gap = np.array(acc["lora"]) - np.array(acc["full"])
    body = table(["recipe", "trainable parameters", "Banking77 test acc (mean ± sd)", "per seed", "epochs",
                  "train wall s (mean)", "train CPU-s (mean)"], rows)
    return (f"{body}\n\n- LoRA − whole encoder, per seed: {' / '.join(f'{g:+.4f}' for g in gap)}; "
            f"{paired_interval(gap)}. Seeds {list(range(args.seeds))}, each the stratified 90% of Banking77 "
            "train that benchmarks/intent.py uses, tested on all 3,080 test texts by the torch module's argmax. "
            "Same head (started from the frozen vectors' logistic regression), 4 epochs, batch 32, 64 tokens, "
            f"warm-up and linear decay; one torch thread a run, {args.jobs} runs at once. Load average "
            f"(1, 5, 15 min) before: {load_before}, after: {load_after} on {os.cpu_count()} cores.")


def main(argv=None) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each (default 2)")
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank (default 16; alpha is twice it)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    load_before = tuple(round(x, 1) for x in os.getloadavg())
    jobs = [(recipe, seed, args.rank) for seed in range(args.seeds) for recipe in ("full", "lora")]
    start = time.time()
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn"),
                             max_tasks_per_child=1) as pool:  # a fresh process a run: nothing carries over
        done = list(pool.map(task, *zip(*jobs)))
    text = render(done, args, load_before, tuple(round(x, 1) for x in os.getloadavg()))
    text += f" Whole run {(time.time() - start) / 60:.0f} min."
    print(text)
    if not args.no_write:
        write_section("Fine-tuning recipes: whole encoder against LoRA (Banking77)", text,
                      "python " + " ".join(["benchmarks/intent_lora.py", *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    main()
