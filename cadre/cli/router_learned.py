"""`cadre router fit-learned` and `cadre router eval-learned`: the learned auto-router.

Input files are routing tables (JSONL, .jsonl.gz, or one JSON list such as seed 003's
`hf_evaluations_train.json`, with `prompt`, `model_scores`, optional `model_costs` and
`images`).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer

from cadre.cli.verbs import verb


@verb("fit-learned", group="router")
def fit_learned_cmd(
        data: Path = typer.Option(..., "--data", help="Training routing table (JSONL, .jsonl.gz, or a JSON list of rows)."),
        output: Path = typer.Option(..., "--output", help="Artifact folder to write."),
        kind: str = typer.Option("mlp", "--kind", help="Predictor: mlp, linear, knn, gbdt or mf; several joined with + (e.g. knn+mlp) are stacked."),
        tune: bool = typer.Option(False, "--tune", help="Seeded random search over the kind's grid first."),
        seed: int = typer.Option(0, "--seed", help="Seed for folds, initialisation and the search."),
        folds: int = typer.Option(5, "--folds", help="Cross-fitting folds (out-of-fold predictions calibrate)."),
        objective: str = typer.Option("utility", "--objective", help="utility (P − λ·cost) or threshold."),
        target_quality: Optional[float] = typer.Option(None, help="Cheapest operating point reaching this validation accuracy."),
        budget: Optional[float] = typer.Option(None, help="Most accurate operating point within this mean cost."),
        models: Optional[str] = typer.Option(None, help="Comma-separated model list (others count as unknown)."),
        cost_unit: str = typer.Option("$", help="Unit shown for costs in reasons."),
        match_best: str = typer.Option("se", "--match-best", help="Default target (no --target-quality/--budget): 'se' = the cheapest point within one standard error of the best single model's validation accuracy; 'exact' = reach it exactly."),
        trials: int = typer.Option(8, help="Random-search trials with --tune."),
        as_json: bool = typer.Option(False, "--json", help="Print the artifact metadata as JSON."),
        threads: Optional[int] = typer.Option(None, help="CPU threads for torch."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --output (never done silently).")) -> None:
    """Train a learned router: P(correct) per model, then the cheapest likely-correct model."""
    from cadre.data.routing_tables import read_routing_table
    from cadre.outputs import claim_output
    from cadre.routing.learned.report import coverage_text
    from cadre.routing.learned.router import fit_learned

    claim_output(output, ("router:learned",), overwrite=overwrite)
    _threads(threads)
    if target_quality is not None and budget is not None:
        raise typer.BadParameter("give --target-quality or --budget, not both")
    table = read_routing_table(data, models.split(",") if models else None)
    meta = fit_learned(table, output, kind=kind, tune=tune, seed=seed, folds=folds, objective=objective,
                       target_quality=target_quality, budget=budget, cost_unit=cost_unit, trials=trials,
                       match_best=match_best,
                       progress=None if as_json else (lambda msg: typer.echo(f"  {msg}", err=True)))
    if as_json:
        typer.echo(json.dumps(_jsonable(meta), indent=2))
        return
    op = meta["operating_point"]
    typer.echo(f"read {data}: {table.report.summary()}")
    typer.echo(f"saved {output} ({kind}, {len(meta['models'])} models, {meta['train_rows']} rows, "
               f"{meta['folds']} folds, {meta['clusters']} format clusters)")
    typer.echo(f"scores: {coverage_text(meta['coverage'])}; each model's predictor learns from the rows "
               f"where it has a score")
    typer.echo(f"operating point ({op['objective']} = {op['param']:.4g}) chosen on {op['chosen_on']}: "
               f"val accuracy {op['val_accuracy']:.4f} at mean cost {op['val_cost']:.4g}")
    best = op.get("best_single_model")
    if best:
        typer.echo(f"against {best['model']} alone (val accuracy {best['val_accuracy']:.4f} on its "
                   f"{best['val_rows']} rows, at {best['val_cost']:.4g}): saves {op['saving_vs_best']:.0%} of its cost")


@verb("eval-learned", group="router")
def eval_learned_cmd(
        model_dir: Path = typer.Argument(..., help="Artifact folder written by fit-learned."),
        data: Path = typer.Option(..., "--data", help="Test routing table (JSONL, .jsonl.gz, or a JSON list of rows)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
        plot: Optional[Path] = typer.Option(None, help="Write the cost–quality curve as a PNG here."),
        lam: Optional[float] = typer.Option(None, "--lambda", help="Override λ (utility rule)."),
        threshold: Optional[float] = typer.Option(None, help="Override with one threshold for every model."),
        target_quality: Optional[float] = typer.Option(None, help="Re-pick the operating point from the saved validation curve: cheapest reaching this accuracy."),
        budget: Optional[float] = typer.Option(None, help="Re-pick from the saved validation curve: most accurate within this mean cost."),
        threads: Optional[int] = typer.Option(None, help="CPU threads for torch.")) -> None:
    """Evaluate a learned router: accuracy, mean cost, oracle, AIQ, APGR, per-model AUC/F1."""
    from cadre.data.routing_tables import read_routing_table
    from cadre.routing.learned.router import LearnedRouter
    from cadre.routing.learned.evaluate import evaluate
    from cadre.routing.learned.report import coverage_text

    _threads(threads)
    router = LearnedRouter(model_dir, thresholds=threshold, lam=lam, target_quality=target_quality,
                           budget=budget)
    table = read_routing_table(data, router.labels)
    report = evaluate(router, table, cache=True, plot=plot)
    if as_json:
        typer.echo(json.dumps(_jsonable(report), indent=2))
        return
    typer.echo(f"read {data}: {table.report.summary()}")
    typer.echo(f"scores: {coverage_text(report['coverage'])}")
    typer.echo(f"router accuracy {report['accuracy']:.4f} on the {report['judged_rows']} of {report['eval_rows']} rows "
               f"whose chosen model has a score, at mean cost {report['mean_cost']:.4g} "
               f"({report['cost_vs_strong']:.0%} of {report['strong_model']}, whose accuracy is "
               f"{report['strong_accuracy']:.4f}); oracle {report['oracle_accuracy']:.4f}")
    typer.echo(f"AIQ {report['aiq']:.4f} (zero router {report['zero_router_aiq']:.4f}), APGR {report['apgr']:.4f}")
    for m, r in report["per_model"].items():
        typer.echo(f"  {m}: AUC={r['auc']:.3f} acc={r['accuracy']:.3f} f1={r['f1']:.3f} "
                   f"selected {report['selection'][m]:.1%}")
    if plot:
        typer.echo(f"plot: {plot}")


def _threads(n: Optional[int]) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


def _jsonable(obj):
    """NaN → null, numpy scalars → Python, recursively, so the output is strict JSON."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
