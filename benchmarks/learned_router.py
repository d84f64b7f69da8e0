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
"""
from __future__ import annotations

import argparse
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

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
DOCS = Path(__file__).resolve().parent.parent / "docs"
ROUTERBENCH = SHARED / "routing_routerbench_subset" / "routerbench_0shot_arc_mbpp_winogrande.jsonl.gz"
ZEROEVAL = SHARED / "routing_zeroeval" / "gsm8k.jsonl.gz"
ROUTELLM = SHARED / "routing_routellm" / "mmlu_gsm8k_gpt4_vs_mixtral.jsonl.gz"
GOAL_ACC, GOAL_SHARE = 0.874, 0.5


def split_tables(rows: list[dict], is_train, work: Path, name: str):
    """Write train/test routing tables from converted rows and read them back."""
    train = [r for r in rows if is_train(r)]
    test = [r for r in rows if not is_train(r)]
    write_routing_table(train, work / f"{name}_train.jsonl")
    write_routing_table(test, work / f"{name}_test.jsonl")
    tr = read_routing_table(work / f"{name}_train.jsonl", well_covered(rows))
    te = read_routing_table(work / f"{name}_test.jsonl", tr.models)
    return tr, te


def well_covered(rows: list[dict], share: float = 0.95) -> list[str]:
    """Models scored on at least `share` of the rows (a model run on half the questions
    would leave few rows where every model has a score; its entries count as unknown)."""
    counts: dict[str, int] = {}
    for r in rows:
        for m, v in r["model_scores"].items():
            counts[m] = counts.get(m, 0) + (v is not None)
    return sorted(m for m, c in counts.items() if c >= share * len(rows))


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
    """One table row: accuracy and cost at both operating points, AIQ, APGR."""
    def op(key):
        if key not in res:
            return "—", "—"
        acc, cost = res[key]
        return f"{acc:.3f}", f"{cost:.3g} ({cost / strong_cost:.0%})"
    m_acc, m_cost = op("match")
    h_acc, h_cost = op("half")
    if res.get("half_reached") is False:
        h_cost += " †"
    aiq = f"{res['aiq']:.4f}" if "aiq" in res else "—"
    apgr = f"{res['apgr']:.3f}" if "apgr" in res else "—"
    return [name, m_acc, m_cost, h_acc, h_cost, aiq, apgr]


HEADERS = ["router", "acc (match)", "mean cost (match, % of strong)", "acc (half)",
           "mean cost (half, % of strong)", "AIQ", "APGR"]


def run_dataset(name: str, loader, kinds: list[str], work: Path, plot: Path, cost_label: str,
                tfidf: bool = True) -> tuple[str, dict]:
    """Fit every kind and baseline on one dataset; return its Markdown and key figures."""
    t0 = time.time()
    rows, is_train = loader()
    train, test = split_tables(rows, is_train, work, name)
    singles = bl.test_singles(test)
    weak, strong = rr.weak_strong(singles)
    X_tr, X_te = bl.features(train), bl.features(test)
    results, curves = {}, {}
    results["oracle"] = {"match": bl.oracle_point(test)}
    results[f"{strong} alone"] = {"match": singles[strong][::-1]}
    results["zero router (random mixes of single models)"] = bl.zero_router(singles)
    results["best fixed model per task"], curves["best model per task"] = bl.task_router(train, test)
    if tfidf:
        results["TF-IDF kNN (k=20), utility"], curves["TF-IDF kNN"] = bl.tfidf_knn(train, test)
    for kind in kinds:
        t = time.time()
        res, curve = bl.cadre_router(kind, train, test, X_tr, X_te, work / f"{name}_{kind}")
        results[f"cadre {kind}"], curves[f"cadre {kind}"] = res, curve
        print(f"  {name}: cadre {kind} fitted and scored in {time.time() - t:.0f}s: "
              f"{fmt_row(kind, res, singles[strong][0])}", flush=True)
    strong_cost = singles[strong][0]
    md = table(HEADERS, [fmt_row(k, v, strong_cost) for k, v in results.items()])
    rr.plot_curves(curves, singles, plot, f"{name}: test-split cost–quality hulls", cost_label)
    j, acc_tr, cost_tr = bl._strong(train)
    info = {"rows": (len(train.rows), len(test.rows)), "strong": strong, "weak": weak,
            "train_strong": (train.models[j], acc_tr, cost_tr),
            "strong_all_rows": bl.strong_all_rows(test, strong),
            "singles": singles, "results": results, "seconds": time.time() - t0,
            "reports": (train.report.summary(), test.report.summary())}
    print(md, flush=True)
    return md, info


def goal_line(info: dict) -> str:
    """Which cadre routers reach the goal at the 'half' operating point on the test split.

    The issue's 0.874 is GPT-4's accuracy over all test rows with a missing score counted
    as wrong; on the complete rows the table reports, GPT-4 scores higher. So each router is
    judged both ways: on all rows against 0.874, and on complete rows against GPT-4 there.
    """
    strong_cost, strong_acc = info["singles"][info["strong"]]
    all_acc, all_cost = info["strong_all_rows"]
    lines = [(f"{info['strong']} alone: {all_acc:.3f} over all {info['rows'][1]} test rows (missing = wrong; "
              f"the issue's reference) at {all_cost:.3g}, {strong_acc:.3f} on the complete rows")]
    for name, res in info["results"].items():
        if name.startswith("cadre") and "half" in res:
            acc, cost = res["half"]
            a_all, c_all = res["half_all_rows"]
            ok = a_all >= GOAL_ACC and c_all <= GOAL_SHARE * all_cost
            ok_same = acc >= strong_acc and cost <= GOAL_SHARE * strong_cost
            lines.append(f"{name}: {a_all:.3f} at {c_all / all_cost:.1%} over all rows "
                         f"({'meets' if ok else 'misses'} ≥{GOAL_ACC} at ≤{GOAL_SHARE:.0%}); "
                         f"{acc:.3f} at {cost / strong_cost:.1%} on complete rows "
                         f"({'matches' if ok_same else 'misses'} {info['strong']}'s {strong_acc:.3f} there)")
    return "; ".join(lines)


def train_note(info: dict) -> str:
    """Say so when the strongest model on train (which sets both operating points) is not
    the strongest on test (which the % column and APGR use)."""
    name, acc, cost = info["train_strong"]
    if name == info["strong"]:
        return ""
    return (f" On train the strongest single model is {name} ({acc:.3f} at {cost:.3g}); it sets the "
            f"*match* target and the *half* budget ({0.5 * cost:.3g}).")


def section(parts: list[tuple[str, str, dict, str]], total: float) -> str:
    """The Markdown body of the benchmarks.md section."""
    out = [
        "Each cadre router predicts every model's P(correct) from MiniLM features of the prompt "
        "(the last question block, pooled chunks, and 12 prompt-shape numbers) with one predictor "
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
        "Accuracy and cost are on test rows with every model's score. † = no validation point "
        "fits the half budget, so the cheapest validation point is used.",
    ]
    for title, md, info, png in parts:
        strong = info["strong"]
        c, q = info["singles"][strong][0], info["singles"][strong][1]
        out += [f"### {title}",
                f"{info['rows'][0]} train / {info['rows'][1]} test rows; strong = {strong} "
                f"({q:.3f} at {c:.3g}), weak = {info['weak']}. Train table: {info['reports'][0]}; "
                f"test table: {info['reports'][1]}. {info['seconds']:.0f}s." + train_note(info),
                md, f"![{title}]({png})"]
        if title.startswith("RouterBench"):
            out.append("Goal (≥0.874 at ≤50% of GPT-4's cost, *half* point), judged two ways: "
                       + goal_line(info))
    out.append(f"Whole run: {total:.0f}s on this CPU (features cached after the first run).")
    return "\n\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="mlp,linear,knn,gbdt,mf,linear+gbdt")
    ap.add_argument("--extra-kinds", default="mlp,linear,knn", help="kinds for the two extra tables")
    ap.add_argument("--quick", action="store_true", help="RouterBench only")
    ap.add_argument("--no-write", action="store_true", help="print, do not touch docs/benchmarks.md")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.time()
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        jobs = [("RouterBench (ARC, MBPP, Winogrande; 11 LLMs, $ per call)", "routerbench", load_routerbench,
                 args.kinds, "mean $ per query")]
        if not args.quick:
            jobs += [("ZeroEval GSM8K (42 LLMs; cost = output characters)", "zeroeval", load_zeroeval,
                      args.extra_kinds, "mean output characters per query"),
                     ("RouteLLM MMLU + GSM8K (GPT-4 vs Mixtral; relative price per call)", "routellm",
                      load_routellm, args.extra_kinds, "relative price per query")]
        for title, name, loader, kinds, label in jobs:
            png = f"learned_router_{name}.png"
            md, info = run_dataset(name, loader, kinds.split(","), work, DOCS / png, label)
            parts.append((title, md, info, png))
    body = section(parts, time.time() - t0)
    print(body)
    if not args.no_write:
        cmd = "python benchmarks/learned_router.py" + (" --quick" if args.quick else "")
        write_section("Learned router (RouterBench, ZeroEval, RouteLLM)", body, cmd)


if __name__ == "__main__":
    main()
