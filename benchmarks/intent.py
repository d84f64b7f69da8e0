"""Intent routing on Banking77 (test accuracy) and CLINC150 (test in-scope accuracy and
out-of-scope recall), every router built with the defaults of the command a user runs,
mean ± spread over seeds, single-request p50/p99 on one core.

    .venv/bin/python benchmarks/intent.py [--seeds 3] [--fraction 0.9] [--quick]

Each seed trains every router on the same stratified `--fraction` of the training split
(a different subset per seed) and tests on the full, fixed test split:
- TF-IDF + LinearSVC and MiniLM + logistic regression: the baselines
  (`cadre router train --kind tfidf` / `--kind embedding`);
- ensemble (`--kind ensemble`), fast (`--kind fast`: static MiniLM-distilled token vectors
  ⊕ TF-IDF);
- auto (`cadre router train`, the default): candidates cross-validated on the seed's
  training subset (Banking77) or scored on CLINC val (`--val`), chosen within 2 ms p50.
CLINC routers are calibrated with `--val` (CLINC val + oos_val) and `--target-precision
0.97`; Banking77 routers get no target (auto then applies its no-OOS guard; its cost is
the "guard drop" column). MiniLM vectors are cached by content (pure function of text).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _report import table, write_section  # noqa: E402

from cadre.evaluation.intent import latency, quality  # noqa: E402

CACHE = Path.home() / ".cache" / "cadre" / "bench_minilm"
TARGET = 0.97
CANDIDATES = [c for c in os.environ.get("CADRE_BENCH_AUTO_CANDIDATES", "").split(",") if c] or None
ROWS = ("tfidf", "embedding", "ensemble", "fast", "cascade", "auto", "finetune", "auto_ft")
BUDGET = float(os.environ.get("CADRE_BENCH_TRAIN_BUDGET", "0") or 0) or None  # --train-budget (finetune rows)
FT_LATENCY_MS = 50.0  # auto_ft's --max-latency-ms: MiniLM kinds (finetune) within the budget
NAMES = {"tfidf": "TF-IDF + LinearSVC (baseline, `--kind tfidf`)",
         "embedding": "MiniLM + logistic regression (baseline, `--kind embedding`)",
         "ensemble": "ensemble: MiniLM ⊕ TF-IDF (`--kind ensemble`)",
         "fast": "fast: static MiniLM-distilled ⊕ TF-IDF (`--kind fast`)",
         "cascade": "cascade: fast, then the ensemble for unsure texts (`--kind cascade`)",
         "auto": "auto (`cadre router train`, defaults: p50 ≤ 2 ms)",
         "finetune": "finetune: MiniLM fine-tuned, ONNX (`--kind finetune --train-budget B`, CPU)",
         "auto_ft": "auto allowed to fine-tune (`--train-budget B --max-latency-ms 50`)"}


def cpu_seconds() -> float:
    """User+sys CPU seconds of this process (the fit's cost, whatever else the machine runs)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Split:
    def __init__(self, texts, labels, vectors=None):
        self.texts, self.labels, self.vectors = list(texts), list(labels), vectors

    def take(self, rows) -> "Split":
        return Split([self.texts[i] for i in rows], [self.labels[i] for i in rows], self.vectors[rows])


DATASETS = ("banking77", "clinc150")


def prepare(quick: bool = False) -> dict[str, dict[str, Split]]:
    """Both data sets with their (cached) MiniLM vectors; `quick`: every 10th row."""
    data = load_data()
    embed_all(data)
    if quick:
        for splits in data.values():
            for key, s in splits.items():
                splits[key] = s.take(np.arange(0, len(s.texts), 10))
    return data


def load_data() -> dict[str, dict[str, Split]]:
    from cadre.data.intents import load_banking77, load_clinc150

    def split(examples):
        return Split([e.question for e in examples], [e.label for e in examples])

    return {"banking77": {"train": split(load_banking77("train")), "test": split(load_banking77("test"))},
            "clinc150": {s: split(load_clinc150(s)) for s in ("train", "val", "test")}}


def embed_all(data) -> float:
    """MiniLM vectors for every split, cached by content hash; returns seconds spent encoding."""
    from cadre.encoders.text import encode_texts

    spent = 0.0
    CACHE.mkdir(parents=True, exist_ok=True)
    for splits in data.values():
        for s in splits.values():
            path = CACHE / f"{hashlib.sha256(chr(0).join(s.texts).encode()).hexdigest()[:24]}.npy"
            if path.is_file():
                s.vectors = np.load(path)
                continue
            start = time.perf_counter()
            s.vectors = encode_texts(s.texts, batch_size=64)
            spent += time.perf_counter() - start
            np.save(path, s.vectors)
    return spent


def subsample(split: Split, fraction: float, seed: int) -> Split:
    """A stratified `fraction` of the rows, drawn with `seed`."""
    rng = np.random.default_rng(seed)
    labels = np.array(split.labels)
    rows = []
    for label in sorted(set(split.labels)):
        idx = rng.permutation(np.where(labels == label)[0])
        rows.extend(idx[:max(1, int(round(fraction * len(idx))))])
    return split.take(np.sort(np.array(rows)))


def fit(kind: str, train: Split, val: Split | None, seed: int, tmp: Path, candidates=None):
    """The router `cadre router train --kind KIND` builds with its defaults."""
    from cadre.routing.intent.auto_cv import EMBED_SCALE, EMBEDDING_HEAD
    from cadre.routing.intent.embedding import EmbeddingRouter
    from cadre.routing.intent.encoders import MINILM, NONE, STATIC
    from cadre.routing.intent.ensemble import EnsembleRouter

    if kind == "tfidf":
        return EnsembleRouter.fit(train.texts, train.labels, vectors=train.vectors[:, :0], encoder_name=NONE,
                                  embed_scale=0.0)
    if kind == "embedding":
        return EmbeddingRouter.fit(train.texts, train.labels, vectors=train.vectors, **EMBEDDING_HEAD)
    if kind == "ensemble":
        return EnsembleRouter.fit(train.texts, train.labels, vectors=train.vectors)
    if kind == "cascade":
        from cadre.routing.intent.cascade import CascadeRouter

        return CascadeRouter.fit(train.texts, train.labels, vectors=train.vectors, embed_scale=EMBED_SCALE)
    if kind == "fast":
        from cadre.encoders.static import StaticEncoder

        enc = StaticEncoder()
        return EnsembleRouter.fit(train.texts, train.labels, vectors=enc(train.texts), encoder=enc,
                                  encoder_name=STATIC, embed_scale=EMBED_SCALE)
    if kind == "finetune":
        from cadre.routing.intent.finetune import train_router

        return train_router(train.texts, train.labels, train.vectors, BUDGET, tmp / f"ft_{seed}")
    from cadre.training.router_fit import nano_trainer
    from cadre.routing.intent.auto import AutoOptions, render_table, run_auto

    extra = {"train_budget": BUDGET, "max_latency_ms": FT_LATENCY_MS} if kind == "auto_ft" else {}
    options = AutoOptions(seed=seed, target_precision=TARGET if val else None,
                          **({"candidates": candidates} if candidates else {}), **extra)
    result = run_auto(train.texts, train.labels, options, tmp / f"{kind}_{seed}", nano=nano_trainer("nano", None, 32,
                      None, say=None), val=(val.texts, val.labels) if val else None,
                      vectors={MINILM: train.vectors if val is None else np.concatenate([train.vectors, val.vectors])},
                      log=lambda line: print("  " + line, flush=True))
    print(render_table(result.summary(options.max_latency_ms)), flush=True)
    result.router.auto = result
    return result.router


def calibrate(router, val: Split) -> None:
    """`--val VAL --target-precision 0.97` with the CLI's default per-route thresholds."""
    from cadre.routing.intent.calibration import fit_thresholds

    probs = scores(router, val)
    router.set_thresholds(fit_thresholds(probs, val.labels, router.labels, TARGET, per_route=True))


def scores(router, split: Split) -> np.ndarray:
    """Probabilities, with the cached MiniLM vectors where the router encodes with MiniLM."""
    from cadre.routing.intent.encoders import MINILM

    if getattr(router, "encoder_name", MINILM if router.kind == "embedding" else None) == MINILM:
        return np.asarray(router.score_batch(split.texts, vectors=split.vectors))
    return np.asarray(router.score_batch(split.texts))


def judge(router, split: Split, thresholds=None) -> dict:
    from cadre.routing.intent.calibration import apply_thresholds

    probs = scores(router, split)
    return quality(split.labels, apply_thresholds(probs, router.labels,
                                                  router.thresholds if thresholds is None else thresholds))


def task(name: str, seed: int, fraction: float, skip: set, quick: bool, tmp: str) -> dict:
    """One (data set, seed); a failure is reported, not fatal to the other tasks."""
    import traceback

    out = {"name": name, "seed": seed, "quality": {}}
    try:
        task_rows(name, seed, fraction, skip, quick, tmp, out)
    except Exception:  # noqa: BLE001 — keep the other tasks' results
        print(f"task {name} seed {seed} failed:\n{traceback.format_exc()}", flush=True)
    return out


def task_rows(name: str, seed: int, fraction: float, skip: set, quick: bool, tmp: str, out: dict) -> None:
    """One (data set, seed): the rows not skipped fitted and judged into `out`; routers saved for timing."""
    import torch

    torch.set_num_threads(1)
    data = prepare(quick)
    splits = data[name]
    train, val = subsample(splits["train"], fraction, seed), splits.get("val")
    for kind in ROWS:
        if kind in skip:
            continue
        start, cpu = time.perf_counter(), cpu_seconds()
        router = fit(kind, train, val, seed, Path(tmp) / f"{name}_{seed}", CANDIDATES)
        fit_cpu = cpu_seconds() - cpu
        if val is not None and kind not in ("auto", "auto_ft"):
            calibrate(router, val)
        q = judge(router, splits["test"])
        q["train_s"], q["train_cpu_s"] = time.perf_counter() - start, fit_cpu
        out["quality"][kind] = q
        if kind == "auto_ft":
            out["choice_ft"] = router.auto.chosen.kind
        if kind == "auto":
            out["choice"] = router.auto.chosen.kind
            out["auto_table"] = router.auto.summary(2.0)["table"]
        if kind in ("auto", "auto_ft") and val is None:  # the guard's cost on held-back data
            q["unguarded"] = judge(router, splits["test"], {})["accuracy"]
            out["drop" if kind == "auto" else "drop_ft"] = q["unguarded"] - q["accuracy"]
        if seed == 0 and name == "banking77":
            folder = Path(tmp) / "timed" / kind
            if kind in ("auto", "auto_ft"):
                import shutil
                shutil.copytree(Path(tmp) / f"{name}_{seed}" / f"{kind}_{seed}", folder)
            else:
                router.save(folder)
        print(f"seed {seed} {name} {kind}: acc {q['accuracy']:.4f} in-scope {q['in_scope_accuracy']} "
              f"oos {q['oos_recall']}" + (f", without the guard {q['unguarded']:.4f}" if "unguarded" in q else "")
              + f" ({q['train_s']:.0f} s)", flush=True)


def run(args, tmp: Path) -> dict:
    """All (data set, seed) tasks, `--jobs` at a time; then latency, one router at a time."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    kinds = [k for k in reversed(ROWS) if k not in args.skip]  # auto, the longest, first
    jobs = [(n, s, args.fraction, set(ROWS) - {k}, args.quick, str(tmp))  # one (data set, seed, row) a task
            for k in kinds for s in range(args.seeds) for n in args.datasets]
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn")) as pool:
        done = list(pool.map(task, *zip(*jobs)))
    results = {k: {d: [] for d in DATASETS} for k in ROWS}
    out_all = {"choices": {d: [] for d in DATASETS}, "choices_ft": {d: [] for d in DATASETS},
               "cv": {d: [] for d in DATASETS}, "drops": [], "drops_ft": []}
    for out in done:
        if out.get("auto_table"):
            out_all["cv"][out["name"]].append({row["kind"]: row for row in out["auto_table"]})
        for kind, q in out["quality"].items():
            results[kind][out["name"]].append(q)
        for key, into in (("choice", "choices"), ("choice_ft", "choices_ft")):
            if out.get(key):
                out_all[into][out["name"]].append(out[key])
        for key, into in (("drop", "drops"), ("drop_ft", "drops_ft")):
            if out.get(key) is not None:
                out_all[into].append(out[key])
    return {"results": results, "timing": time_all(tmp, args), **out_all}


def time_all(tmp: Path, args) -> dict:
    """p50/p99 of the Banking77 seed-0 routers, one at a time on one thread."""
    import torch

    from cadre.routing import load_router

    torch.set_num_threads(1)
    texts = prepare(args.quick)["banking77"]["test"].texts
    timing = {}
    for kind in ROWS:
        folder = tmp / "timed" / kind
        if folder.is_dir():
            timing[kind] = latency(load_router(folder), texts, samples=args.samples, warmup=5)
    return timing


def ms(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def cv_cell(out: dict, kind: str) -> str:
    """auto's own cross-validated accuracy of a kind on Banking77 train (seed 0): mean ± sd over its folds."""
    tables = out["cv"].get("banking77") or []
    if not tables:
        return "–"
    name = out["choices"]["banking77"][0] if kind == "auto" else kind
    row = tables[0].get(name)
    if not row or row["cv_accuracy"] is None:
        return "–"
    return f"{row['cv_accuracy']:.4f} ± {row['cv_spread']:.4f} ({row['folds']} fold{'s' if row['folds'] > 1 else ''})"


def render(out: dict, args, load_before, load_after, encode_s: float) -> str:
    rows = []
    for kind in ROWS:
        if kind in args.skip:
            continue
        b, c, t = out["results"][kind]["banking77"], out["results"][kind]["clinc150"], out["timing"].get(kind, {})
        train_s = " / ".join(f"{np.mean([q['train_s'] for q in r]):.0f}" if r else "–" for r in (b, c))
        train_s += " (CPU-s " + " / ".join(f"{np.mean([q['train_cpu_s'] for q in r]):.0f}" if r else "–"
                                           for r in (b, c)) + ")"
        drop = ms(out["drops" if kind == "auto" else "drops_ft"]) if kind in ("auto", "auto_ft") else "–"
        rows.append([NAMES[kind], cv_cell(out, kind), ms([q["accuracy"] for q in b]), drop,
                     ms([q["in_scope_accuracy"] for q in c]),
                     ms([q["oos_recall"] for q in c]), _f(t.get("p50_ms")), _f(t.get("p99_ms")), train_s])
    if out["cv"].get("banking77") and "nano" in out["cv"]["banking77"][0]:
        rows.append(["nano (auto's candidate; distilled only where every fold is scored)", cv_cell(out, "nano"), "–", "–", "–", "–",
                     _f(out["cv"]["banking77"][0]["nano"]["p50_ms"]), _f(out["cv"]["banking77"][0]["nano"]["p99_ms"]),
                     "–"])
    headers = ["router", "B77 CV on train (auto's table)", "Banking77 test acc", "guard drop (B77)", "CLINC in-scope acc", "CLINC OOS recall", "p50 ms",
               "p99 ms", "train s (B77 / CLINC)"]
    auto = ", ".join(f"{d}: {' / '.join(c)}" for d, c in out["choices"].items() if c)
    auto_ft = ", ".join(f"{d}: {' / '.join(c)}" for d, c in out["choices_ft"].items() if c) or "–"
    notes = [
        "",
        f"- Test columns: mean ± standard deviation over {args.seeds} seed(s) (a single run when 1); each seed "
        f"trains on a stratified {args.fraction:.0%} of the training split and tests on the whole test split "
        "(Banking77 3,080; CLINC150 4,500 in-scope + 1,000 oos). The CV column is auto's own table on Banking77 "
        "train: every candidate auto scored, on its held-out fold (from 4,000 training rows on, one 20% fold of 5; mean ± sd when more folds are scored). Every "
        "router is what the named command builds with its defaults.",
        f"- auto's candidates: {', '.join(CANDIDATES) if CANDIDATES else 'the CLI default (all)'}. auto chose, per seed: {auto}; allowed to fine-tune: {auto_ft}. Banking77: one held-out fold of 5 on the seed's training subset (a kind dropped before scoring shows –); CLINC: "
        f"candidates scored on CLINC val (`--val`). CLINC thresholds: `--val` (val + oos_val) at "
        f"`--target-precision {TARGET}`, per route, never fitted on test. Banking77 has no out-of-scope data and "
        "no target: auto sets its guard threshold (reject at most 0.25% of in-scope texts out of fold); "
        "'guard drop' is the in-scope accuracy it cost on Banking77 test (accuracy without minus with it).",
        "- Latency: single `route()` calls on the Banking77 seed-0 router over test texts after 5 warm-ups, torch "
        "limited to one thread; MiniLM-based routers include encoding the text. "
        f"Load average (1, 5, 15 min) before: {load_before}, after: {load_after} on {os.cpu_count()} cores "
        "(timing runs after every fit has finished).",
        f"- MiniLM vectors for quality figures come from one cached batched pass ({encode_s:.0f} s encoding in "
        f"this run); train s (wall) and its CPU-s (user+sys of the fitting process) exclude that encoding and, for auto, include its cross-validation, the nano and any fine-tuning; "
        f"{args.jobs} (data set, seed, row) tasks ran at once (whole run {args.wall_s / 60:.0f} min), so train "
        "times include sharing the cores.",
    ]
    return table(headers, rows) + "\n" + "\n".join(notes)


def _f(value, digits: int = 3):
    return "–" if value is None else f"{float(value):.{digits}f}"


def main(argv=None) -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.9, help="Share of the training split per seed.")
    parser.add_argument("--samples", type=int, default=200, help="Single requests timed per router.")
    parser.add_argument("--skip", default="", help="Comma-separated rows to skip: " + ",".join(ROWS))
    parser.add_argument("--quick", action="store_true", help="Every 10th row of every split (development only).")
    parser.add_argument("--jobs", type=int, default=1, help="(data set, seed, row) tasks run at once.")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--auto-candidates", default="", help="auto's --candidates (default: the CLI's).")
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    parser.add_argument("--few-shot", type=int, default=0, help="Only the N-examples-per-intent rows "
                        "(benchmarks/intent_fewshot.py).")
    parser.add_argument("--train-budget", type=float, default=None, help="auto's --train-budget (fine-tuning).")
    args = parser.parse_args(argv)
    if args.few_shot:
        import intent_fewshot

        return intent_fewshot.report(args, argv)
    args.skip = set(filter(None, args.skip.split(",")))
    if args.train_budget:  # workers are spawned: they read it from the environment
        os.environ["CADRE_BENCH_TRAIN_BUDGET"] = str(args.train_budget)
    else:
        args.skip |= {"finetune", "auto_ft"}  # fine-tuning rows need a budget
    args.datasets = [d for d in args.datasets.split(",") if d]
    if args.auto_candidates:  # workers are spawned: they read it from the environment
        os.environ["CADRE_BENCH_AUTO_CANDIDATES"] = args.auto_candidates
    torch.set_num_threads(1)
    load_before = tuple(round(x, 1) for x in os.getloadavg())
    encode_s = embed_all(load_data())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = run(args, Path(tmp))
    args.wall_s = time.perf_counter() - started
    body = render(out, args, load_before, tuple(round(x, 1) for x in os.getloadavg()), encode_s)
    print(body)
    if not args.no_write and not args.quick:
        command = "python benchmarks/intent.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section("Intent routing: Banking77 and CLINC150", body, command.strip())


if __name__ == "__main__":
    main()
