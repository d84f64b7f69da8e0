"""`cadre train`, `cadre eval` and `cadre generate`: the specialist trainer's verbs."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

import typer

from cadre.cli.verbs import verb

TYPE_HELP = "router, vision, code, math, or any NAME for a generative specialist"


@verb("train")
def train(type: str = typer.Option(..., "--type", help=TYPE_HELP),
          data: List[Path] = typer.Option(None, "--data", help="Training data: Q/A text, CSV or JSONL (repeatable)."),
          model_size: Optional[str] = typer.Option(None, help="Size preset (default by type: router nano, vision tiny, code/math small)."),
          epochs: Optional[int] = typer.Option(None, help="Epochs (default by type: router 50, others 40)."),
          batch_size: int = typer.Option(8, help="Examples per step."),
          lr: float = typer.Option(3e-4, help="Peak learning rate (warmup, then cosine decay)."),
          device: str = typer.Option("auto", help="auto, cuda or cpu."),
          output: Optional[Path] = typer.Option(None, help="Checkpoint folder (default runs/TYPE_SIZE)."),
          quiet: bool = typer.Option(False, help="No progress bar or per-epoch log."),
          resume: Optional[Path] = typer.Option(None, help="Continue an interrupted run from its checkpoint folder."),
          init_from: Optional[Path] = typer.Option(None, help="Start from an existing model's weights (fine-tune on new data)."),
          val_split: float = typer.Option(0.1, help="Fraction held out for validation (deterministic, stratified)."),
          seed: int = typer.Option(0, help="Seed for initialisation, shuffling and the split."),
          tokenizer: Optional[Path] = typer.Option(None, help="Tokenizer folder (default: the shared one shipped with cadre)."),
          threads: Optional[int] = typer.Option(None, help="CPU threads for torch (1 is often fastest for tiny models)."),
          subword_dropout: Optional[float] = typer.Option(None, help="Share of tokens split and re-tokenised each epoch (default: 0.1 for routers, 0 otherwise)."),
          teacher: str = typer.Option("auto", help="Distil a teacher's held-out class probabilities: tfidf (word+char TF-IDF + logistic regression, fitted on the training split) or none; auto is tfidf for routers."),
          distill_alpha: float = typer.Option(0.8, help="Weight of the teacher's probabilities against the gold label."),
          overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --output (never done silently).")) -> None:
    """Train a specialist: a router (classifier over intents) or a generative model."""
    from cadre.outputs import cadre_kind, claim_output
    from cadre.training.setup import interrupted_run
    from cadre.training.trainer import TrainConfig, Trainer

    if not data and not resume:
        raise typer.BadParameter("give --data, or --resume DIR", param_hint="--data")
    _threads(threads)
    cfg = TrainConfig(type=type, data=[str(p) for p in data or []], model_size=model_size, epochs=epochs,
                      batch_size=batch_size, lr=lr, device=device, output=str(output) if output else None,
                      quiet=quiet, val_split=val_split, seed=seed, init_from=str(init_from) if init_from else None,
                      tokenizer=str(tokenizer) if tokenizer else None, resume=str(resume) if resume else None,
                      subword_dropout=subword_dropout, teacher=teacher, distill_alpha=distill_alpha)
    # before any data or model is read. A resumed run writes into its own folder (a folder
    # that is no training run fails in the trainer: nothing to resume)
    if not resume and not overwrite and (earlier := interrupted_run(cfg)):
        resume = earlier  # the same command again: continue its run, keep its finished epochs
        cfg = replace(cfg, resume=str(earlier))
        typer.echo(f"{earlier} holds a run with these settings: continuing it (its finished epochs are kept; "
                   "--overwrite starts over)", err=True)
    if resume:
        claim_output(resume, (cadre_kind(resume) or "",), overwrite=True)
    else:
        claim_output(cfg.resolved().output, (type,), overwrite=overwrite)
    trainer = Trainer(cfg)  # validates flags and data first; writes nothing
    stats = trainer.train()
    final = stats[-1] if stats else None
    typer.echo(f"saved {trainer.config.output}" + (f" (val acc {final.val_accuracy:.4f})" if final and final.val_accuracy is not None else ""))


@verb("eval")
def evaluate(model_dir: Path = typer.Argument(..., help="A checkpoint folder written by cadre train."),
             data: Path = typer.Option(..., "--data", help="Test data: Q/A text, CSV or JSONL."),
             as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
             limit: Optional[int] = typer.Option(None, help="Evaluate at most this many examples."),
             max_tokens: int = typer.Option(128, help="Generation budget for exact match (generative models).")) -> None:
    """Evaluate a model: routers get accuracy, macro-F1, per-class P/R and a confusion matrix;
    generative models get loss, perplexity and exact match."""
    from cadre.errors import CadreError
    from cadre.training.evaluate import evaluate_checkpoint

    if limit is not None and limit < 1:
        raise CadreError(f"--limit must be at least 1 (got {limit})")
    from cadre.checkpoint import read_metadata

    read_metadata(model_dir)  # a damaged cadre.json fails here, before torch loads
    report = evaluate_checkpoint(model_dir, data, limit=limit, max_tokens=max_tokens)
    if as_json:
        typer.echo(json.dumps(report))
        return
    for key in ("examples", "accuracy", "macro_f1", "loss", "perplexity", "exact_match"):
        if key in report:
            value = report[key]
            typer.echo(f"{key:<12} {value:.4f}" if isinstance(value, float) else f"{key:<12} {value}")


@verb("generate")
def generate(model_dir: Path = typer.Argument(..., help="A generative checkpoint folder."),
             prompt: str = typer.Argument(..., help="The question or prompt."),
             max_tokens: int = typer.Option(128, help="Most tokens to generate."),
             temperature: float = typer.Option(0.0, help="0 is greedy; higher samples more freely."),
             top_p: float = typer.Option(1.0, help="Nucleus sampling mass."),
             seed: Optional[int] = typer.Option(None, help="Seed for sampling.")) -> None:
    """Stream a generative specialist's answer token by token (uses the KV cache)."""
    from cadre.training.evaluate import stream_answer

    for piece in stream_answer(model_dir, prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed):
        typer.echo(piece, nl=False)
    typer.echo()


def _threads(n: Optional[int]) -> None:
    if n:
        import torch

        torch.set_num_threads(n)
