"""Training a nano router classifier, optionally distilled from a teacher's soft labels.

The general trainer (`trainer.py`) fits hard labels on randomly shuffled batches. This
recipe is the router-specific one: batches of similar length (little padding, about
twice the examples per second on a CPU), word and subword dropout as input noise, and a loss that
mixes cross-entropy on the gold label with cross-entropy on the teacher's probabilities:

    loss = (1 - alpha) · CE(logits, gold) + alpha · CE(logits, teacher)

Unlabelled transfer texts (`unlabeled`, with the teacher's probabilities for them) add
examples that carry the teacher term only: the student learns the teacher's function
on more of the input space than the labelled set covers.

It writes the same checkpoint folder as `cadre train --type router` (config.json,
model.safetensors, tokenizer.json, cadre.json with type "router" and the labels).
"""
from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from cadre.errors import CadreError
from cadre.training.regularize import subword_dropout
from cadre.training.options import lr_at

log = logging.getLogger("cadre.train")
IGNORE = -100  # the gold label of an unlabelled transfer text


@dataclass
class DistillConfig:
    """Hyperparameters of one router training run."""

    model_size: str = "nano"
    epochs: int = 12
    batch_size: int = 32
    lr: float = 2e-3
    alpha: float = 0.7  # weight of the teacher term (0: plain cross-entropy)
    word_dropout: float = 0.1
    subword_dropout: float = 0.1  # share of tokens split and re-tokenised each epoch (regularize.py)
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    seed: int = 0
    context: int | None = None


def train_router(texts: Sequence[str], labels: Sequence[str], output: str | Path,
                 teacher: np.ndarray | None = None, config: DistillConfig | None = None,
                 tokenizer: str | None = None, progress=None, unlabeled: Sequence[str] = (),
                 unlabeled_teacher: np.ndarray | None = None) -> dict:
    """Train and save a router classifier; `teacher` is (N, C) probabilities over the
    sorted label set, `unlabeled_teacher` (M, C) the same for the `unlabeled` texts.
    Returns the metadata written to cadre.json."""
    import torch

    from cadre import presets
    from cadre.tokenizer import load_tokenizer

    cfg = config or DistillConfig()
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise CadreError(f"router data has a single class ({classes[0]!r}); a router needs at least two")
    if teacher is not None and teacher.shape != (len(texts), len(classes)):
        raise CadreError(f"teacher probabilities have shape {teacher.shape}, expected {(len(texts), len(classes))}")
    if len(unlabeled) and (teacher is None or unlabeled_teacher is None
                           or unlabeled_teacher.shape != (len(unlabeled), len(classes))):
        raise CadreError("unlabeled texts need a teacher: probabilities of shape (texts, classes) for both sets")
    preset = presets.from_name(cfg.model_size, **({"context": cfg.context} if cfg.context else {}))
    tok = load_tokenizer(tokenizer)
    torch.manual_seed(cfg.seed)
    model = _build(preset, tok, len(classes))
    y = torch.tensor([classes.index(label) for label in labels] + [IGNORE] * len(unlabeled))
    soft = None
    if teacher is not None:
        rows = [teacher] + ([unlabeled_teacher] if len(unlabeled) else [])
        soft = torch.from_numpy(np.concatenate(rows).astype(np.float32))  # (N + M, C)
    started = time.perf_counter()
    losses = _fit(model, tok, list(texts) + list(unlabeled), y, soft, preset.context, cfg, progress)
    meta = {"type": "router", "task_kind": "classifier", "preset": preset.name, "labels": classes,
            "train_examples": len(texts), "unlabeled_examples": len(unlabeled),
            "metrics": {"train_loss": losses[-1], "epoch": cfg.epochs},
            "recipe": {"name": "distill" if soft is not None else "router", **asdict(cfg)},
            "train_seconds": round(time.perf_counter() - started, 1)}
    _save(model, tok, output, meta)
    return meta


def _build(preset, tok, n_classes: int):
    from cadre.modeling import build_model
    from cadre.tokenizer import BOS, EOS, PAD

    ids = dict(pad_id=tok.token_to_id(PAD), bos_id=tok.token_to_id(BOS), eos_id=tok.token_to_id(EOS))
    return build_model(preset, tok.get_vocab_size(), n_classes, **ids)


def _fit(model, tok, texts, y, soft, context: int, cfg: DistillConfig, progress) -> list[float]:
    """The epoch loop: noisy re-encoding, length-bucketed batches, mixed loss."""
    import torch

    rng = random.Random(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * math.ceil(len(texts) / cfg.batch_size)
    step, losses = 0, []
    model.train()
    for epoch in range(cfg.epochs):
        encoded = [subword_dropout(tok, _encode(tok, _drop_words(t, cfg.word_dropout, rng), context),
                                   cfg.subword_dropout, rng, context) for t in texts]
        for rows in _buckets(encoded, cfg.batch_size, rng):
            ids, mask = _pad([encoded[i] for i in rows], model.config.pad_token_id)  # (B, T), (B, T)
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, cfg.lr, cfg.warmup_fraction)
            logits = model(input_ids=ids, attention_mask=mask).logits  # (B, C)
            loss = _loss(logits, y[rows], None if soft is None else soft[rows], cfg.alpha)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
        losses.append(float(loss.item()))
        log.info("epoch %d/%d loss %.4f", epoch + 1, cfg.epochs, losses[-1])
        if progress:
            progress(epoch + 1, losses[-1])
    model.eval()
    return losses


def _loss(logits, gold, soft, alpha: float):
    import torch.nn.functional as F

    labelled = gold != IGNORE
    hard = F.cross_entropy(logits[labelled], gold[labelled]) if labelled.any() else logits.sum() * 0.0
    if soft is None or alpha <= 0:
        return hard
    return (1 - alpha) * hard + alpha * -(soft * F.log_softmax(logits, dim=-1)).sum(-1).mean()


def _encode(tok, text: str, context: int) -> list[int]:
    from cadre.tokenizer import encode_prompt

    return encode_prompt(tok, text, context)[0]


def _drop_words(text: str, p: float, rng: random.Random) -> str:
    """Drop each word with probability p (never all of them)."""
    if p <= 0:
        return text
    words = text.split()
    kept = [w for w in words if rng.random() >= p]
    return " ".join(kept or words)


def _buckets(encoded: list[list[int]], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length, in random order."""
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), rng.random()))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def _pad(rows: list[list[int]], pad: int):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(rows), width), dtype=torch.long)  # (B, T)
    for i, r in enumerate(rows):
        ids[i, :len(r)], mask[i, :len(r)] = torch.tensor(r), 1
    return ids, mask



def _save(model, tok, output, meta: dict) -> None:
    """The checkpoint folder, atomically, with the tokenizer that was actually used."""
    from cadre.fsutil import atomic_dir
    from cadre.modeling import save_checkpoint

    with atomic_dir(output) as tmp:
        save_checkpoint(tmp, model, tok.to_str(pretty=True), meta)
