"""`cadre router train --kind auto` (the default): the CLI side of `cadre.routing.intent.auto`,
which chooses the router kind by cross-validation on the user's data. The nano
candidate's trainer (the distillation recipe in `cadre.training`) is supplied here,
since routing code never imports training."""
from __future__ import annotations

from pathlib import Path

import typer


def nano_trainer(model_size: str, epochs: int | None, batch_size: int, lr: float | None, quiet: bool):
    """A callable that trains a distilled nano router into a folder and opens it."""
    def train(texts, labels, teacher, folder: Path):
        from cadre.routing.intent.fit import finish_nano
        from cadre.routing.intent.nano import NanoRouter
        from cadre.training.distill import DistillConfig, train_router

        cfg = DistillConfig(model_size=model_size, batch_size=batch_size)
        cfg.epochs, cfg.lr = epochs or cfg.epochs, lr or cfg.lr
        report = None if quiet else (lambda e, loss: typer.echo(f"  nano epoch {e}/{cfg.epochs} loss {loss:.4f}"))
        train_router(texts, labels, folder, teacher, cfg, progress=report)
        finish_nano(folder)
        return NanoRouter.load(folder)

    return train


def train_auto(train, val_ex, output: Path, options, nano_args: dict, quiet: bool) -> list[str]:
    """Run the selection, print the table, save the router; returns its labels."""
    from cadre.routing.intent.auto import render_table, run_auto
    from cadre.routing.intent.fit import texts_labels

    texts, labels = texts_labels(train)
    val = texts_labels(val_ex) if val_ex else None
    say = (lambda line: None) if quiet else typer.echo
    result = run_auto(texts, labels, options, Path(output), val=val, nano=nano_trainer(quiet=quiet, **nano_args),
                      log=lambda line: typer.echo(line, err=line.startswith(("warning", "note"))) if
                      line.startswith(("warning", "note")) else say(line))
    typer.echo(render_table(result.summary(options.max_latency_ms)))
    return [label for label in result.router.labels]
