"""The specialist trainer: from scratch, resumed, or initialised from another model.

Shape: setup → train (one checkpoint per epoch, written atomically) → cleanup. A router
learns a sequence classifier over its labels; every other type learns a causal LM with
the loss on the answer tokens only.

One loop for every recipe; a router's options pick its regularisers: a teacher (`tfidf`,
cross-fitted; `router:<folder>`, a trained router's probabilities, with optional
`unlabeled` transfer texts; or `given` probabilities, see `InMemoryData`), `distill_alpha`,
subword and word dropout, and length-bucketed batches. `options.DISTILL_RECIPE` is the
nano distillation recipe. Every run checkpoints each epoch and resumes from its folder.
"""
from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, replace

from cadre.encoding import Encoded, collate, soft_targets
from cadre.training.options import EpochStats, TrainConfig, lr_at  # noqa: F401 (TrainConfig is the API)
from cadre.training.regularize import drop_words, length_buckets, mixed_loss, subword_dropout
from cadre.training.config_checks import check_train_numbers
from cadre.training.setup import evaluate_encoded, prepare, resume_config, save_run

log = logging.getLogger("cadre.train")

class Trainer:
    """Runs one training job; see `cadre train --help` for the flags."""

    def __init__(self, config: TrainConfig, on_step: Callable[[int], None] | None = None, data=None):
        """`data`: an InMemoryData (texts, labels, teacher probabilities) instead of --data files."""
        check_train_numbers(config)
        self.config = (resume_config(config) if config.resume else config).resolved()
        if config.resume:
            check_train_numbers(self.config)  # the saved run's numbers, from a file that may be damaged
        self.on_step = on_step
        self.run = prepare(self.config, data)  # data, tokenizer, model, optimizer, state

    def train(self) -> list[EpochStats]:
        """Train the remaining epochs, checkpointing after each; returns every epoch's stats."""
        run, cfg = self.run, self.config
        total_steps = cfg.epochs * run.steps_per_epoch
        bar = _progress(total_steps, run.state.global_step, cfg.quiet)
        try:
            for epoch in range(run.state.epoch + 1, cfg.epochs + 1):
                stats = self._epoch(epoch, total_steps, bar)
                run.state.epoch = epoch
                run.state.history.append(asdict(stats))
                save_run(run, cfg)
                _log_epoch(stats, cfg, bar)
        finally:
            bar.close()
        return [EpochStats(**h) for h in run.state.history]

    def _epoch(self, epoch: int, total_steps: int, bar) -> EpochStats:

        run, cfg = self.run, self.config
        run.model.train()
        rng = random.Random(cfg.seed * 100_003 + epoch)  # seeded per epoch, so --resume replays it exactly
        losses, tokens, started = [], 0, time.perf_counter()
        for rows in self._batches(epoch, rng):
            batch = [self._augment(run.train[i], rng) for i in rows]
            loss, n_tokens = self._step(batch, total_steps)
            losses.append(loss)
            tokens += n_tokens
            rate = tokens / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix_str(f"epoch {epoch}/{cfg.epochs} loss {loss:.3f} {rate:,.0f} tok/s")
            bar.update(1)
            if self.on_step:
                self.on_step(run.state.global_step)
        val = self.evaluate(run.val)
        return EpochStats(epoch, sum(losses) / len(losses), val.get("loss"),
                          math.exp(min(val["loss"], 50)) if val else None,
                          tokens / max(time.perf_counter() - started, 1e-9),
                          val.get("accuracy"), val.get("macro_f1"))

    def _batches(self, epoch: int, rng: random.Random) -> list[list[int]]:
        """This epoch's batches: a seeded shuffle, or shuffled buckets of similar length."""
        import torch

        run, cfg = self.run, self.config
        if cfg.length_buckets:
            return length_buckets([len(e.ids) for e in run.train], cfg.batch_size, rng)
        order = torch.randperm(len(run.train), generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch))
        return [order[i: i + cfg.batch_size].tolist() for i in range(0, len(order), cfg.batch_size)]

    def _augment(self, example: Encoded, rng: random.Random) -> Encoded:
        """The example with word and subword dropout applied (routers only)."""
        cfg, encoder = self.config, self.run.encoder
        if not isinstance(example.target, int):
            return example
        if cfg.word_dropout > 0 and example.text is not None:
            example = replace(example, ids=encoder.prompt_ids(drop_words(example.text, cfg.word_dropout, rng))[0])
        p = cfg.subword_dropout or 0.0
        if p <= 0:
            return example
        return replace(example, ids=subword_dropout(encoder.tok, example.ids, p, rng, encoder.context))

    def _step(self, batch, total_steps: int) -> tuple[float, int]:
        import torch

        run, cfg = self.run, self.config
        ids, mask, labels = (t.to(run.device) for t in collate(batch, run.encoder.pad))
        soft = soft_targets(batch)
        for group in run.optimizer.param_groups:
            group["lr"] = lr_at(run.state.global_step, total_steps, cfg.lr, cfg.warmup_fraction)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=run.device == "cuda"):
            if run.labels:  # a router: gold and (when there is a teacher) the teacher's probabilities
                logits = run.model(input_ids=ids, attention_mask=mask).logits.float()  # (B, C)
                loss = mixed_loss(logits, labels, None if soft is None else soft.to(run.device), cfg.distill_alpha)
            else:
                loss = run.model(input_ids=ids, attention_mask=mask, labels=labels).loss
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), 1.0)
        run.optimizer.step()
        run.state.global_step += 1
        return loss.item(), int(mask.sum())

    def evaluate(self, examples) -> dict:
        """Loss (and accuracy/macro-F1 for routers) over encoded examples."""
        return evaluate_encoded(self.run, examples, self.config.batch_size * 4) if examples else {}


def _progress(total: int, done: int, quiet: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, disable=quiet, unit="step", dynamic_ncols=True)


def _log_epoch(stats: EpochStats, cfg: TrainConfig, bar) -> None:
    if cfg.quiet:
        return
    parts = [f"epoch {stats.epoch}/{cfg.epochs}", f"train loss {stats.train_loss:.4f}"]
    if stats.val_loss is not None:
        parts += [f"val loss {stats.val_loss:.4f}", f"ppl {stats.perplexity:.2f}"]
    if stats.val_accuracy is not None:
        parts += [f"val acc {stats.val_accuracy:.4f}", f"macro-F1 {stats.val_macro_f1:.4f}"]
    parts.append(f"{stats.tokens_per_s:,.0f} tok/s")
    bar.write(" | ".join(parts))


def summary(stats: list[EpochStats]) -> str:
    """JSON of the final epoch's metrics."""
    return json.dumps(asdict(stats[-1]) if stats else {}, indent=2)
