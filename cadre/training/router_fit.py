"""Training intent routers that need the trainer: the nano router (plain, or distilled from
a teacher router's probabilities) and `--kind auto`, whose nano candidate is distilled from
the best of the others. Routing never imports training, so `cadre.routing.intent.auto`
gets its nano trainer from here. `say` receives progress lines (None: quiet)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from cadre.data import load_examples

Say = Callable[[str], None] | None


def distill_config(output, model_size: str, epochs: int | None, batch_size: int, lr: float | None,
                   quiet: bool, **options):
    """The trainer's settings for the nano distillation recipe (options.DISTILL_RECIPE)."""
    from cadre.training.options import DISTILL_RECIPE, TrainConfig

    recipe = {**DISTILL_RECIPE, "model_size": model_size, "batch_size": batch_size, "output": str(output),
              "quiet": quiet, "data": [], **options}
    recipe["epochs"], recipe["lr"] = epochs or recipe["epochs"], lr or recipe["lr"]
    return TrainConfig(**recipe)


def nano_trainer(model_size: str, epochs: int | None, batch_size: int, lr: float | None, say: Say = None):
    """A callable that trains a distilled nano router into a folder and opens it."""
    def train(texts, labels, teacher, folder: Path):
        from cadre.routing.intent.fit import finish_nano
        from cadre.routing.intent.nano import NanoRouter
        from cadre.training.setup import InMemoryData
        from cadre.training.trainer import Trainer

        cfg = distill_config(folder, model_size, epochs, batch_size, lr, say is None,
                             teacher="none" if teacher is None else "given")
        Trainer(cfg, data=InMemoryData(list(texts), list(labels), teacher)).train()
        finish_nano(folder)
        return NanoRouter.load(folder)

    return train


def train_auto_router(train, val_ex, output: Path, options, nano_args: dict, say: Say, warn: Callable[[str], None]):
    """Cross-validate the candidate kinds, save the chosen router; (labels, the table)."""
    from cadre.routing.intent.auto import render_table, run_auto
    from cadre.routing.intent.fit import texts_labels

    texts, labels = texts_labels(train)
    val = texts_labels(val_ex) if val_ex else None

    def log(line: str) -> None:
        if line.startswith(("warning", "note")):
            warn(line)
        elif say is not None:
            say(line)
    result = run_auto(texts, labels, options, Path(output), val=val, nano=nano_trainer(say=say, **nano_args), log=log)
    return list(result.router.labels), render_table(result.summary(options.max_latency_ms))


def train_nano_router(data: Path, val_ex, output: Path, target_precision, model_size: str, epochs: int,
                      batch_size: int, lr: float, default_route, fallback_rules, say: Say, distill_from=None,
                      unlabeled=None, per_route: bool = True) -> dict:
    """The nano router: the trainer on --data, or the distillation recipe from a teacher
    folder; then thresholds, default route and fallback rules. Returns its cadre.json."""
    from cadre.routing.intent.fit import finish_nano, split_examples

    if distill_from is not None:
        _distill(data, output, distill_from, unlabeled, model_size, epochs, batch_size, lr, say)
        val_split = 0.0
    else:
        from cadre.training.trainer import TrainConfig, Trainer

        cfg = TrainConfig(type="router", data=[str(data)], model_size=model_size, epochs=epochs,
                          batch_size=batch_size, lr=lr, output=str(output), quiet=say is None, device="cpu")
        Trainer(cfg).train()
        val_split = cfg.val_split
    if val_ex is None and target_precision and val_split:  # the trainer's own held-out split, recomputed
        from cadre.data.splits import dedupe

        _, val_ex = split_examples(dedupe(load_examples(data))[0], val_split)
    return finish_nano(output, val_ex, target_precision, default_route=default_route, fallback_rules=fallback_rules,
                       per_route=per_route)


def _distill(data, output, teacher_dir, unlabeled, model_size, epochs, batch_size, lr, say: Say) -> None:
    """Train on --data with the teacher router's probabilities as soft targets: the
    trainer's distillation recipe, resumable with `cadre train --resume OUTPUT`."""
    from cadre.routing.intent.fit import check_classes, texts_labels
    from cadre.routing.store import canonical_labels
    from cadre.training.trainer import Trainer

    check_classes(canonical_labels(texts_labels(load_examples(data))[1]))
    cfg = distill_config(output, model_size, epochs, batch_size, lr, say is None, data=[str(data)],
                         teacher=f"router:{Path(teacher_dir).resolve()}",
                         unlabeled=str(Path(unlabeled).resolve()) if unlabeled else None)
    Trainer(cfg).train()
