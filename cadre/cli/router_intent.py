"""`cadre router train|eval|calibrate` for intent routers (nano, embedding, keyword) and
the top-level `cadre route DIR "text"`.

TRAIN/TEST/VAL files are Q/A text (`A: [E:tool]intent`) or CSV/JSONL with text,label;
the label `oos` or `out_of_scope` marks out-of-scope examples.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cadre.cli.verbs import verb



def kinds() -> list[str]:
    """`--kind` choices: auto, then every registered kind (cadre.routing.intent.kinds)."""
    from cadre.routing.intent.kinds import kind_names

    return ["auto", *kind_names()]


def _kind_help() -> str:
    from cadre.routing.intent.kinds import registry

    listed = ", ".join(f"{k.name} ({k.summary})" for k in registry().values())
    return ("auto (default: the most accurate kind by cross-validation on --data, or on --val, within "
            f"--max-latency-ms), or one of: {listed}.")


def _default_candidates() -> str:
    from cadre.routing.intent.auto import default_candidates

    return ",".join(default_candidates())


def _examples(path: Path):
    from cadre.data import load_examples

    return load_examples(path)


def _threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))


@verb("train", group="router")
def train_cmd(
        kind: str = typer.Option("auto", "--kind", help=_kind_help()),
        data: Optional[Path] = typer.Option(None, "--data", help="Training data (Q/A text, CSV or JSONL text,label)."),
        output: Path = typer.Option(..., "--output", help="Router folder to write."),
        val: Optional[Path] = typer.Option(None, "--val", help="Validation data: auto scores the candidates on it "
                                           "instead of cross-validating, and thresholds are fitted on it (default: "
                                           "out-of-fold scores for auto, a 10% split of --data for the others)."),
        target_precision: Optional[float] = typer.Option(None, help="Fit thresholds to this validation precision. "
                                                         "Without it: auto with no out-of-scope examples sets one "
                                                         "pooled threshold that rejects at most 0.25% of in-scope "
                                                         "texts (out-of-fold); with out-of-scope examples, or for "
                                                         "the other kinds, no thresholds (the out_of_scope class "
                                                         "decides)."),
        max_latency_ms: float = typer.Option(2.0, help="auto: single-request p50 budget (CPU ms of one thread) a candidate "
                                             "must meet."),
        folds: Optional[int] = typer.Option(None, help="auto: cross-validation folds (default 5, only the first "
                                            "scored from 4,000 training examples on; reduced to the smallest "
                                            "class, with a note)."),
        candidates: str = typer.Option(_default_candidates(),
                                       help="auto: comma-separated kinds to try (keyword needs --rules)."),
        per_route: bool = typer.Option(True, "--per-route/--global", help="One threshold per route (shrunk toward "
                                       "the pooled one) or one pooled threshold for all (better with few "
                                       "validation examples per route)."),
        train_budget: Optional[float] = typer.Option(None, help="finetune: wall seconds fine-tuning may take; it stops "
                                                     "cleanly when they are spent (default: all --epochs). auto "
                                                     "considers finetune only when given one."),
        model_size: str = typer.Option("nano", help="nano: size preset."),
        epochs: Optional[int] = typer.Option(None, help="nano: epochs (default 20; 12 for auto's distilled nano); "
                                             "finetune: epochs (default 4)."),
        batch_size: int = typer.Option(32, help="nano: examples per step."),
        lr: float = typer.Option(1e-3, help="nano: peak learning rate."),
        head: str = typer.Option("logreg", help="embedding: logreg or mlp."),
        mode: str = typer.Option("head", help="embedding: head (trained) or nearest (utterance similarity)."),
        rules: Optional[Path] = typer.Option(None, help="keyword: rules YAML (default: learn word patterns from --data, "
                                                         "or the bundled rules without --data)."),
        distill_from: Optional[Path] = typer.Option(None, help="nano: a trained router folder (e.g. an ensemble) whose "
                                                               "probabilities on --data are soft targets."),
        unlabeled: Optional[Path] = typer.Option(None, help="nano with --distill-from: unlabelled transfer texts "
                                                            "(one per line, or any data file's texts)."),
        fallback_rules: Optional[Path] = typer.Option(None, help="Keyword rules YAML to fall back to below threshold."),
        default_route: Optional[str] = typer.Option(None, help="Route taken when every step of the chain declines."),
        threads: int = typer.Option(1, help="CPU threads for torch."),
        quiet: bool = typer.Option(False, help="No progress output."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --output (never done silently).")) -> None:
    """Train an intent router and write its folder (cadre.json names the kind)."""
    from cadre.errors import CadreError

    if kind not in kinds():
        raise CadreError(f"unknown router kind {kind!r}; use one of {', '.join(kinds())}")
    if train_budget is not None and train_budget <= 0:
        raise CadreError(f"--train-budget {train_budget} must be positive")
    if data is None and not (kind == "keyword"):
        raise CadreError("give --data TRAIN")
    from cadre.outputs import claim_output

    claim_output(output, ("router",), overwrite=overwrite)
    _threads(threads)
    train = _examples(data) if data else None
    val_ex = _examples(val) if val else None
    if kind == "auto":
        labels = _train_auto(train, val_ex, output, target_precision, per_route, max_latency_ms, folds, candidates,
                             rules, dict(model_size=model_size, epochs=epochs, batch_size=batch_size, lr=None),
                             default_route, fallback_rules, quiet, head, mode, train_budget)
    elif kind == "nano":
        from cadre.training.router_fit import train_nano_router

        meta = train_nano_router(data, val_ex, output, target_precision, model_size, epochs or 20, batch_size, lr,
                                 default_route, fallback_rules, None if quiet else typer.echo, distill_from,
                                 unlabeled, per_route)
        labels = meta["labels"]
    else:
        from cadre.routing.intent.fit import fit_light_router

        labels = fit_light_router(kind, train, val_ex, output, target_precision, head, mode, rules,
                                  default_route, fallback_rules, per_route, train_budget, epochs,
                                  None if quiet else typer.echo)
    chosen = f" ({_chosen_kind(output)})" if kind == "auto" else ""
    typer.echo(f"saved {kind} router{chosen} to {output} ({len(labels)} routes)")


def _chosen_kind(output: Path) -> str:
    from cadre.checkpoint import read_metadata

    return (read_metadata(output).get("auto") or {}).get("chosen", "?")


def _train_auto(train, val_ex, output, target_precision, per_route, max_latency_ms, folds, candidates, rules,
                nano_args, default_route, fallback_rules, quiet, head="logreg", mode="head", train_budget=None):
    from cadre.errors import CadreError
    from cadre.routing.intent.auto import AutoOptions
    from cadre.routing.intent.fit import copy_rules
    from cadre.routing.store import update_meta
    from cadre.training.router_fit import train_auto_router

    if folds is not None and folds < 2:
        raise CadreError(f"--folds {folds}: cross-validation needs at least 2")
    if target_precision is not None and not 0.0 < target_precision <= 1.0:
        raise CadreError(f"target precision {target_precision} must be in (0, 1]")
    if max_latency_ms <= 0:
        raise CadreError(f"--max-latency-ms {max_latency_ms} must be positive")
    options = AutoOptions(candidates=[c.strip() for c in candidates.split(",") if c.strip()], folds=folds,
                          max_latency_ms=max_latency_ms, rules=rules, target_precision=target_precision,
                          per_route=per_route, head=head, mode=mode, progress=not quiet, train_budget=train_budget)
    labels, table = train_auto_router(train, val_ex, output, options, nano_args, None if quiet else typer.echo,
                                      lambda line: typer.echo(line, err=True))
    typer.echo(table)
    if default_route:
        update_meta(output, default_route=default_route)
    if fallback_rules:
        copy_rules(fallback_rules, output)
    return labels


def _open(router_dir: Path, thresholds: Optional[Path]):
    from cadre.routing import load_router

    router = load_router(router_dir)
    if thresholds:
        router.apply_yaml(thresholds)
    return router


@verb("eval", group="router")
def eval_cmd(router_dir: Path = typer.Argument(..., help="A router folder."),
             data: Path = typer.Option(..., "--data", help="Test data (Q/A text, CSV or JSONL text,label)."),
             thresholds: Optional[Path] = typer.Option(None, help="Routes/thresholds YAML to apply first."),
             latency_samples: int = typer.Option(200, help="Single requests timed for p50/p99."),
             threads: int = typer.Option(1, help="CPU threads for torch."),
             as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Accuracy, macro-F1, in-scope accuracy, OOS recall, p50/p99 latency and throughput."""
    from cadre.evaluation.intent import evaluate_router
    from cadre.routing.intent.fit import texts_labels

    _threads(threads)
    router = _open(router_dir, thresholds)
    texts, gold = texts_labels(_examples(data))
    report = {"router": str(router_dir), "kind": router.kind, **evaluate_router(router, texts, gold, latency_samples)}
    auto = _auto_summary(router_dir)
    if as_json:
        typer.echo(json.dumps({**report, **({"auto": auto} if auto else {})}, indent=2))
        return
    for key, value in report.items():
        typer.echo(f"{key:18} {value:.4f}" if isinstance(value, float) else f"{key:18} {value}")
    if auto:
        from cadre.routing.intent.auto import render_table

        how = ("scored on --val" if auto.get("scored_on") == "--val" else "cross-validated on its training data")
        typer.echo(f"\nchosen by --kind auto from ({how}):\n{render_table(auto)}")


def _auto_summary(router_dir: Path) -> dict | None:
    """The candidates table that `--kind auto` saved in cadre.json, if any."""
    from cadre.checkpoint import read_metadata

    return read_metadata(router_dir).get("auto")


@verb("calibrate", group="router")
def calibrate_cmd(router_dir: Path = typer.Argument(..., help="A router folder."),
                  val: Path = typer.Option(..., "--val", help="Validation data (text,label; oos allowed)."),
                  target_precision: float = typer.Option(0.9, help="Validation precision to reach."),
                  per_route: bool = typer.Option(True, "--per-route/--global",
                                                 help="Per-route thresholds, or one pooled threshold.")) -> None:
    """Fit thresholds on validation data and store them in the folder."""
    from cadre.routing.intent.fit import calibrate, texts_labels
    from cadre.routing.store import update_meta

    router = _open(router_dir, None)
    fitted = calibrate(router, *texts_labels(_examples(val)), target_precision, per_route=per_route)
    update_meta(router_dir, thresholds=fitted, calibration={"target_precision": target_precision,
                                                            "per_route": per_route})
    typer.echo(f"calibrated {len(fitted)} thresholds (median {sorted(fitted.values())[len(fitted) // 2]:.3f})")


@verb("route")
def route_cmd(router_dir: Path = typer.Argument(..., help="A router folder."),
              text: str = typer.Argument(..., help="The text to route."),
              thresholds: Optional[Path] = typer.Option(None, help="Routes/thresholds YAML to apply first."),
              as_json: bool = typer.Option(False, "--json", help="Print the RouteChoice as JSON.")) -> None:
    """Route one text: the chosen route and the reason (every fallback step shown)."""
    from cadre.errors import CadreError

    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 in argv arrive as lone surrogates
        raise CadreError("the text to route is not valid UTF-8 (it holds a lone surrogate)") from None
    router = _open(router_dir, thresholds)
    choice = router.route(text)
    if as_json:
        top = dict(sorted(choice.scores.items(), key=lambda kv: -kv[1])[:5])
        typer.echo(json.dumps({**choice.to_dict(), "scores": top}, ensure_ascii=False))
    else:
        typer.echo(f"{choice.name}\t{choice.score:.3f}\t{choice.reason}")
