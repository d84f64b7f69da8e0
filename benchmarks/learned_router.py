"""Learned auto-router on real per-prompt correctness data, against baselines.

Main table: RouterBench (0-shot ARC-Challenge, MBPP, Winogrande; 11 LLMs with dollar
costs), RouterDC's train/test split. Every cadre router and every baseline chooses its
operating point on the train split only (cadre: out-of-fold predictions, 5-fold
cross-fitting; baselines: their train-split statistics or out-of-fold predictions), at
two policies: **match** = the cheapest λ whose validation accuracy reaches GPT-4's
validation accuracy; **half** = the most accurate λ whose validation mean cost is at most
half of GPT-4's. The test split is touched only to score.

Extra tables: ZeroEval GSM8K (42 models, cost = output characters; seeded 70/30 split) and
RouteLLM GPT-4 vs Mixtral (MMLU + GSM8K, uncontaminated rows, a seeded 4,000-row sample,
70/30 split; cost = relative price per call).

    python benchmarks/learned_router.py [--quick] [--kinds mlp,linear,knn,gbdt,mf,linear+gbdt]
        [--seeds 0,1,2] [--text static|minilm]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _learned_baselines as bl  # noqa: E402
from benchmarks._report import table, write_section  # noqa: E402
from cadre.data.routing_adapters import convert  # noqa: E402
from cadre.data.routing_tables import read_routing_table, write_routing_table  # noqa: E402
from cadre.routing.learned import report as rr  # noqa: E402

SHARED = Path(os.environ.get("CADRE_SHARED", "/work/shared")) / "datasets"
DOCS = Path(__file__).resolve().parent.parent / "docs"
ROUTERBENCH = SHARED / "routing_routerbench_subset" / "routerbench_0shot_arc_mbpp_winogrande.jsonl.gz"
ZEROEVAL = SHARED / "routing_zeroeval" / "gsm8k.jsonl.gz"
ROUTELLM = SHARED / "routing_routellm" / "mmlu_gsm8k_gpt4_vs_mixtral.jsonl.gz"
GOAL_SHARE = 0.5


def split_tables(rows: list[dict], is_train, work: Path, name: str):
    """Write train/test routing tables from converted rows and read them back."""
    train = [r for r in rows if is_train(r)]
    test = [r for r in rows if not is_train(r)]
    write_routing_table(train, work / f"{name}_train.jsonl")
    write_routing_table(test, work / f"{name}_test.jsonl")
    tr = read_routing_table(work / f"{name}_train.jsonl")  # every model, holes included
    te = read_routing_table(work / f"{name}_test.jsonl", tr.models)
    return tr, te


def seeded_split(rows: list[dict], frac: float = 0.7, seed: int = 0):
    """Mark rows train/test by a seeded permutation."""
    order = np.random.default_rng(seed).permutation(len(rows))
    train = set(order[: int(len(rows) * frac)].tolist())
    for i, r in enumerate(rows):
        r["split"] = "train" if i in train else "test"
    return rows


def load_routerbench():
    return list(convert(ROUTERBENCH, "routerbench")), lambda r: r["routerdc_split"] == "train"


def load_zeroeval():
    return seeded_split(list(convert(ZEROEVAL, "zeroeval"))), lambda r: r["split"] == "train"


def load_routellm(n: int = 4000):
    rows = [r for r in convert(ROUTELLM, "routellm") if not r.get("contaminated")]
    order = np.random.default_rng(0).permutation(len(rows))[:n]
    return seeded_split([rows[i] for i in sorted(order)]), lambda r: r["split"] == "train"


def fmt_row(name: str, res: dict, strong_cost: float) -> list:
    """One table row: accuracy and cost at both operating points, AIQ, APGR (± the
    standard deviation over seeds where there are several)."""
    sd = res.get("sd", {})

    def pm(key, value, fmt):
        return f"{value:{fmt}}" + (f" ± {sd[key]:{fmt}}" if key in sd else "")

    def op(key):
        if key not in res:
            return "—", "—"
        acc, cost = res[key]
        share = f"{cost / strong_cost:.0%}" + (f" ± {sd[key + '_share']:.0%}" if key + "_share" in sd else "")
        return pm(key + "_acc", acc, ".3f"), f"{cost:.3g} ({share})"
    m_acc, m_cost = op("match")
    h_acc, h_cost = op("half")
    if res.get("half_reached") is False:
        h_cost += " †"
    aiq = pm("aiq", res["aiq"], ".4f") if "aiq" in res else "—"
    apgr = pm("apgr", res["apgr"], ".3f") if "apgr" in res else "—"
    return [name, m_acc, m_cost, h_acc, h_cost, aiq, apgr]


def over_seeds(runs: list[dict], strong_cost: float) -> dict:
    """Mean of each figure over seeded runs, with their standard deviations under "sd"."""
    out = {k: runs[0][k] for k in ("half_reached",) if k in runs[0]}
    out["half_reached"] = all(r.get("half_reached", True) for r in runs)
    sd = {}
    for key in ("match", "half", "half_all_rows"):
        accs = np.array([r[key][0] for r in runs])
        costs = np.array([r[key][1] for r in runs])
        out[key] = (float(accs.mean()), float(costs.mean()))
        if len(runs) > 1:
            sd[key + "_acc"], sd[key + "_share"] = float(accs.std(ddof=1)), float((costs / strong_cost).std(ddof=1))
    for key in ("aiq", "apgr", "judged"):
        vals = np.array([r[key] for r in runs], dtype=float)
        out[key] = float(vals.mean())
        if len(runs) > 1:
            sd[key] = float(vals.std(ddof=1))
    out["sd"], out["seeds"] = sd, len(runs)
    return out


HEADERS = ["router", "acc (match)", "mean cost (match, % of strong)", "acc (half)",
           "mean cost (half, % of strong)", "AIQ", "APGR"]


def run_dataset(name: str, loader, kinds: list[str], work: Path, plot: Path, cost_label: str,
                tfidf: bool = True, seeds: tuple = (0,), text: str = "static") -> tuple[str, dict]:
    """Fit every kind (once per seed) and baseline on one dataset; return its Markdown and
    key figures."""
    t0 = time.time()
    rows, is_train = loader()
    train, test = split_tables(rows, is_train, work, name)
    singles = bl.test_singles(test)
    weak, strong = rr.weak_strong(singles)
    (X_tr, cpu_tr), (X_te, cpu_te) = bl.features(train, text, cache=text != "static"), \
        bl.features(test, text, cache=text != "static")
    results, curves = {}, {}
    results["oracle"] = {"match": bl.oracle_point(test)}
    results[f"{strong} alone"] = {"match": singles[strong][::-1]}
    results["zero router (random mixes of single models)"] = bl.zero_router(singles)
    results["best fixed model per task"], curves["best model per task"] = bl.task_router(train, test)
    if tfidf:
        results["TF-IDF kNN (k=20), utility"], curves["TF-IDF kNN"] = bl.tfidf_knn(train, test)
    strong_cost = singles[strong][0]
    for kind in kinds:
        t, runs = time.time(), []
        for seed in seeds:
            res, curve = bl.cadre_router(kind, train, test, X_tr, X_te, work / f"{name}_{kind}_{seed}",
                                         seed=seed, text=text)
            runs.append(res)
            curves.setdefault(f"cadre {kind}", curve)  # the first seed's curve is plotted
        results[f"cadre {kind}"] = over_seeds(runs, strong_cost)
        print(f"  {name}: cadre {kind} fitted and scored over {len(seeds)} seed(s) in {time.time() - t:.0f}s: "
              f"{fmt_row(kind, results[f'cadre {kind}'], strong_cost)}", flush=True)
    md = table(HEADERS, [fmt_row(k, v, strong_cost) for k, v in results.items()])
    rr.plot_curves(curves, singles, plot, f"{name}: test-split cost–quality hulls", cost_label)
    j, acc_tr, cost_tr = bl._strong(train)
    info = {"rows": (len(train.rows), len(test.rows)), "strong": strong, "weak": weak,
            "train_strong": (train.models[j], acc_tr, cost_tr),
            "strong_all_rows": bl.strong_all_rows(test, strong),
            "singles": singles, "results": results, "seconds": time.time() - t0,
            "reports": (train.report.summary(), test.report.summary()),
            "coverage": (rr.coverage_text(rr.coverage(train.score_matrix(), train.models)),
                         rr.coverage_text(rr.coverage(test.score_matrix(), test.models))),
            "featurise_cpu": (cpu_tr, cpu_te), "text": text, "seeds": seeds}
    print(md, flush=True)
    return md, info


def goal_line(info: dict) -> str:
    """Which cadre routers reach the strong model's test accuracy at ≤ 50% of its cost at
    the 'half' operating point (chosen on train only); every figure is judged on the rows
    where the chosen model has a score, the strong model on its known rows."""
    strong_cost, strong_acc = info["singles"][info["strong"]]
    lines = [f"{info['strong']} alone: {strong_acc:.3f} at {strong_cost:.3g}"]
    for name, res in info["results"].items():
        if name.startswith("cadre") and "half" in res:
            acc, cost = res["half"]
            ok = acc >= strong_acc - 5e-4 and cost <= GOAL_SHARE * strong_cost
            lines.append(f"{name}: {acc:.3f} at {cost / strong_cost:.1%} ({'meets' if ok else 'misses'})")
    return "; ".join(lines)


def train_note(info: dict) -> str:
    """Say so when the strongest model on train (which sets both operating points) is not
    the strongest on test (which the % column and APGR use)."""
    name, acc, cost = info["train_strong"]
    if name == info["strong"]:
        return ""
    return (f" On train the strongest single model is {name} ({acc:.3f} at {cost:.3g}); it sets the "
            f"*match* target and the *half* budget ({0.5 * cost:.3g}).")


def section(parts: list[tuple[str, str, dict, str]], total: float, load: str) -> str:
    """The Markdown body of the benchmarks.md section."""
    info0 = parts[0][2]
    enc = ("static token vectors (the `fast` intent kind's MiniLM-distilled table, 256-d, "
           "summed per blank-line block)" if info0["text"] == "static" else "MiniLM")
    out = [
        f"Each cadre router predicts every model's P(correct) from {enc} features of the prompt "
        "(the last question block, the whole prompt, and 12 prompt-shape numbers) with one predictor "
        "kind (`a+b` stacks two), calibrates them with format clusters and a stacked logistic layer, "
        "and picks max P − λ·cost with per-format expected costs. **Operating points are chosen on the train split only**: cadre uses "
        "out-of-fold predictions from 5-fold cross-fitting on train (the validation split carved "
        "from train); *match* = cheapest λ whose validation accuracy reaches the strongest single "
        "model's, *half* = the λ that spends the most of a validation mean cost ≤ 50% of that model's "
        "without being more than one standard error less accurate than the best λ within it. "
        "The baselines pick theirs the same way from train. AIQ (RouterBench) = mean of the "
        "non-decreasing convex hull of the test cost–quality curve over the single models' cost "
        "range; APGR (RouteLLM) = mean performance gap recovered between the cheapest single "
        "model (weak) and the most accurate one (strong), over costs from weak to strong. "
        "**Every row is used**: a missing score is unknown for that model only, so each model's "
        "predictor learns from its known rows, a router's choice is judged on the rows whose chosen "
        "model has a score, and each single model on its known rows. "
        f"cadre rows are the mean ± standard deviation over seeds {list(info0['seeds'])} (folds, "
        "initialisation); the baselines are deterministic. † = no validation point "
        "fits the half budget, so the cheapest validation point is used.",
    ]
    for title, md, info, png in parts:
        strong = info["strong"]
        c, q = info["singles"][strong][0], info["singles"][strong][1]
        judged = ", ".join(f"{k[6:]} {v['judged']:.0f}" for k, v in info["results"].items()
                           if k.startswith("cadre") and "judged" in v)
        out += [f"### {title}",
                f"{info['rows'][0]} train / {info['rows'][1]} test rows; strong = {strong} "
                f"({q:.3f} at {c:.3g}), weak = {info['weak']}. Train scores: {info['coverage'][0]}; "
                f"test scores: {info['coverage'][1]}. Test rows judged at the half point: {judged}. "
                f"Train table: {info['reports'][0]}; test table: {info['reports'][1]}. "
                f"Featurising: {info['featurise_cpu'][0]:.1f} + {info['featurise_cpu'][1]:.1f} CPU-seconds "
                f"(train + test, {sum(info['rows'])} prompts, {info['text']}). {info['seconds']:.0f}s."
                + train_note(info),
                md, f"![{title}]({png})"]
        if title.startswith("RouterBench"):
            out.append("Goal (the strong model's test accuracy at ≤ 50% of its cost, *half* point): "
                       + goal_line(info))
    out.append(f"Whole run: {total:.0f}s wall on this CPU; load average at the start: {load}.")
    return "\n\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="mlp,linear,knn,gbdt,mf,linear+gbdt")
    ap.add_argument("--extra-kinds", default="mlp,linear,knn", help="kinds for the two extra tables")
    ap.add_argument("--quick", action="store_true", help="RouterBench only")
    ap.add_argument("--datasets", default="routerbench,zeroeval,routellm",
                    help="which tables, in this order (comma-separated)")
    ap.add_argument("--no-write", action="store_true", help="print, do not touch docs/benchmarks.md")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--seeds", default="0,1,2", help="seeds for every cadre router (mean ± sd)")
    ap.add_argument("--text", default="static", choices=["static", "minilm"],
                    help="text features (minilm: the MiniLM forward, cached after the first run)")
    args = ap.parse_args()
    seeds = tuple(int(x) for x in args.seeds.split(","))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.time()
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        every = {"routerbench": ("RouterBench (ARC, MBPP, Winogrande; 11 LLMs, $ per call)", "routerbench",
                                 load_routerbench, args.kinds, "mean $ per query"),
                 "zeroeval": ("ZeroEval GSM8K (42 LLMs; cost = output characters)", "zeroeval", load_zeroeval,
                              args.extra_kinds, "mean output characters per query"),
                 "routellm": ("RouteLLM MMLU + GSM8K (GPT-4 vs Mixtral; relative price per call)", "routellm",
                              load_routellm, args.extra_kinds, "relative price per query")}
        names = ["routerbench"] if args.quick else args.datasets.split(",")
        unknown = [n for n in names if n not in every]
        if unknown:
            raise SystemExit(f"unknown dataset(s) {unknown}; choose from {list(every)}")
        jobs = [every[n] for n in names]
        for title, name, loader, kinds, label in jobs:
            png = f"learned_router_{name}.png"
            md, info = run_dataset(name, loader, kinds.split(","), work, DOCS / png, label,
                                   seeds=seeds, text=args.text)
            parts.append((title, md, info, png))
    body = section(parts, time.time() - t0, load)
    print(body)
    if not args.no_write:
        cmd = "python benchmarks/learned_router.py" + (" --quick" if args.quick else "") + \
            "".join(f" --{k.replace('_', '-')} {getattr(args, k)}" for k in ("seeds", "kinds", "extra_kinds", "datasets")
                    if getattr(args, k) != ap.get_default(k))
        write_section("Learned router (RouterBench, ZeroEval, RouteLLM)", body, cmd)


if __name__ == "__main__":
    main()
