"""The train stage of the LoRA pipeline: tokenize (loss on the response only), then a
plain loop: AdamW, warmup + cosine (or linear/constant) schedule, gradient accumulation,
gradient clipping; bf16 autocast and gradient checkpointing on CUDA only. Under torchrun
each rank trains on its share of every micro-batch (distributed.py)."""
from __future__ import annotations

import math
import random
import time

from cadre.errors import CadreError
from cadre.training.lora import distributed


def tokenize_examples(tokenizer, examples: list[dict], system: str | None, max_length: int) -> list[dict]:
    """Prompt + response token ids, with the loss on the response (and end-of-turn) only."""
    from cadre.training.lora.evaluate import (
        encode_prompt,
        encode_response,
        render_prompt,
    )

    out = []
    for ex in examples:
        prompt = encode_prompt(tokenizer, render_prompt(tokenizer, ex["prompt"], system))
        response = encode_response(tokenizer, ex["response"])
        if len(prompt) >= max_length - 1:
            continue  # nothing of the response would fit
        ids = (prompt + response)[:max_length]
        out.append({"input_ids": ids, "labels": ([-100] * len(prompt) + response)[:max_length]})
    if not out:
        raise CadreError(f"no training example fits in max_length={max_length}; raise training.max_length")
    return out


def _collate(rows: list[dict], pad_id: int):
    """Left-padded (B, T) input_ids / attention_mask / labels (-100 on padding).

    Left padding puts every response at the end of its row, so the LM head only has to
    run over the last few positions (see _response_loss)."""
    from cadre.training.lora.evaluate import pad_batch

    ids, mask = pad_batch([r["input_ids"] for r in rows], pad_id, left=True)
    labels, _ = pad_batch([r["labels"] for r in rows], -100, left=True)
    return ids, mask, labels


def _response_loss(model, ids, mask, labels):
    """Mean next-token cross-entropy over the response tokens only.

    Only the last K+1 positions reach the LM head (K: the longest response in the batch),
    which saves the (B, T, vocab) logits over the prompt, a fifth of a small model's FLOPs.
    """
    import torch.nn.functional as F

    answer = (labels != -100).int()
    first = int(answer.argmax(1).min())                 # earliest response token in the batch
    k = ids.shape[1] - first                             # positions holding targets
    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=k + 1).logits  # (B, K+1, V)
    logits = logits[:, :-1].float()                      # position t predicts token t+1
    targets = labels[:, first:]                          # (B, K)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def _schedule(optimizer, kind: str, warmup: int, total: int):
    from transformers import (
        get_constant_schedule_with_warmup,
        get_cosine_schedule_with_warmup,
        get_linear_schedule_with_warmup,
    )

    if kind == "constant":
        return get_constant_schedule_with_warmup(optimizer, warmup)
    make = get_cosine_schedule_with_warmup if kind == "cosine" else get_linear_schedule_with_warmup
    return make(optimizer, warmup, total)


def train(model, ctx, progress: bool = True) -> dict:
    """Fine-tune the LoRA parameters on the train split; returns loss history and speed."""
    import torch
    from tqdm.auto import tqdm

    cfg, tok, world = ctx.spec.training, ctx.tokenizer, ctx.world
    rows = tokenize_examples(tok, ctx.data["splits"]["train"], ctx.spec.prompt.system, cfg.max_length)
    if cfg.batch_size < world.size:
        raise CadreError(f"training.batch_size {cfg.batch_size} is split across {world.size} processes; "
                         f"raise it to at least {world.size} or use fewer GPUs")
    per_step = cfg.batch_size * cfg.gradient_accumulation_steps
    total = cfg.max_steps or max(1, math.ceil(cfg.epochs * len(rows) / per_step))
    cuda = ctx.device == "cuda"
    if cuda and cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    params = [p for p in model.parameters() if p.requires_grad]
    net = distributed.wrap(model, world)
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    sched = _schedule(opt, cfg.lr_scheduler, math.ceil(cfg.warmup_ratio * total), total)
    micro = _micro_batches(rows, cfg.batch_size, cfg.seed)  # the same stream on every rank
    torch.manual_seed(cfg.seed + world.rank)  # rank 0 as a single run; other ranks, other dropout
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    model.train()
    history, tokens, start = [], 0, time.perf_counter()
    bar = tqdm(range(total), desc=f"train {ctx.spec.name}", disable=not (progress and world.is_main), unit="step")
    for _ in bar:
        loss_sum = 0.0
        for i in range(cfg.gradient_accumulation_steps):
            batch = next(micro)
            last = i == cfg.gradient_accumulation_steps - 1
            with _sync_grads(net, last or not world.active):
                loss, n_tokens = _shard_step(net, batch, tok.pad_token_id, ctx, cfg)
            tokens += n_tokens
            loss_sum += loss / cfg.gradient_accumulation_steps
        if world.active:  # the step's loss over the whole global batch
            loss_sum = distributed.all_sum([loss_sum], world)[0] / world.size
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(), sched.step(), opt.zero_grad(set_to_none=True)
        history.append(loss_sum)
        bar.set_postfix(loss=f"{loss_sum:.3f}")
    model.eval()
    seconds = time.perf_counter() - start
    tokens = int(distributed.all_sum([tokens], world)[0])
    summary = _train_summary(history, tokens, seconds, total, len(rows), per_step, ctx.device)
    if world.active:
        summary.update(world_size=world.size, per_device_batch=math.ceil(cfg.batch_size / world.size))
    return summary


def _sync_grads(net, sync: bool):
    """DDP averages gradients on the last micro-batch of a step only (no_sync before it)."""
    import contextlib

    return contextlib.nullcontext() if sync else net.no_sync()


def _shard_step(net, batch: list[dict], pad_id: int, ctx, cfg) -> tuple[float, int]:
    """One micro-batch: the whole of it alone, this rank's share of it under torchrun.

    A share's mean loss is rescaled to (its token sum) x N / (the micro-batch's tokens),
    so DDP's average over N ranks is the token mean of the whole micro-batch, as alone.
    A rank with no rows (a short last batch of an epoch) still runs one row at weight 0,
    since DDP needs every rank's backward."""
    world = ctx.world
    if not world.active:
        ids, mask, labels = _collate(batch, pad_id)
        return _micro_step(net, ids, mask, labels, ctx, cfg), int(mask.sum())
    mine = distributed.shard(batch, world)
    total = sum(t != -100 for r in batch for t in r["labels"])
    ids, mask, labels = _collate(mine or batch[:1], pad_id)
    scale = int((labels != -100).sum()) * world.size / total if mine else 0.0
    return _micro_step(net, ids, mask, labels, ctx, cfg, scale), int(mask.sum()) if mine else 0


def _micro_batches(rows: list[dict], size: int, seed: int):
    """An endless stream of shuffled micro-batches (a new order every epoch)."""
    rng, epoch = random.Random(seed), 0
    while True:
        order = list(range(len(rows)))
        rng.shuffle(order)
        for i in range(0, len(order), size):
            yield [rows[j] for j in order[i:i + size]]
        epoch += 1


def _micro_step(model, ids, mask, labels, ctx, cfg, scale: float = 1.0) -> float:
    """Forward + backward on one micro-batch (its loss times `scale`); CUDA OOM becomes a
    batch-size hint."""
    import torch

    dev = ctx.device
    use_bf16 = dev == "cuda" and cfg.bf16 and torch.cuda.is_bf16_supported()
    try:
        with torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=use_bf16):
            loss = _response_loss(model, ids.to(dev), mask.to(dev), labels.to(dev))
            if scale != 1.0:
                loss = loss * scale
        (loss / cfg.gradient_accumulation_steps).backward()
    except torch.cuda.OutOfMemoryError:
        smaller = max(1, cfg.batch_size // 2)
        raise CadreError(f"CUDA out of memory at batch size {cfg.batch_size}; try --batch-size {smaller} "
                         f"(training.gradient_accumulation_steps keeps the effective batch)") from None
    if not math.isfinite(loss.item()):
        raise CadreError(f"training loss became {loss.item()}; lower training.learning_rate")
    return loss.item()


def peak_memory_mb(device: str) -> float:
    """Peak memory of this process: CUDA allocator peak, else the CPU resident-set peak."""
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _train_summary(history, tokens, seconds, steps, n_rows, per_step, device) -> dict:
    k = max(1, len(history) // 10)
    return {"steps": steps, "examples": n_rows, "effective_batch": per_step,
            "epochs": round(steps * per_step / n_rows, 3),
            "loss_first": sum(history[:k]) / k, "loss_last": sum(history[-k:]) / k,
            "loss_history": [round(x, 5) for x in history[:: max(1, len(history) // 200)]],
            "seconds": round(seconds, 2), "tokens": tokens,
            "tokens_per_s": round(tokens / seconds, 1) if seconds > 0 else None,
            "peak_memory_mb": round(peak_memory_mb(device), 1)}
