"""Decoding a batch of requests, each through its own LoRA adapter, one forward pass per token.

Prompts are left-padded to one width (with an attention mask and per-row positions, so
each row computes what it would alone); every step feeds each live row's new token and
PEFT routes each row through its adapter (`adapter_names=`). Finished rows leave the batch
and the KV cache (`batch_select_indices`), so a short answer does not cost the long ones.
Requests that arrive while a batch runs join it between two steps: their prompts are
read in one forward pass of their own, then their caches are left-padded to the batch's
length and appended to it (continuous batching).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

END = object()  # put on a row's queue when the row leaves the batch


@dataclass
class _Live:
    """The rows decoding now: their KV cache, attention mask (B, L) and last positions (B, 1)."""

    rows: list
    past: object
    mask: object
    last: object


def decode_batch(model, rows: list, adapter_of: Callable, lock: threading.RLock, device: str, pad_id: int,
                 more: Callable[[int], list] = lambda room: [], max_batch: int = 8) -> None:
    """Generate for every row (cadre.runtime.backends.lora_host.Row), putting each token id on
    its row's queue as soon as it is chosen; `more(room)` hands over rows that arrived since."""
    import torch

    context = getattr(model.config, "max_position_embeddings", 1 << 30)
    live: _Live | None = None
    with torch.inference_mode():
        while True:
            if rows:
                fresh = _prefill(model, rows, adapter_of, lock, device, pad_id, context)
                live = fresh if live is None else _join(live, fresh)
                rows = []
            if live is None or not live.rows:
                return  # the next request starts a new batch
            _step(model, live, adapter_of, lock, device)
            rows = more(max_batch - len(live.rows)) if _joinable(live.past) else []
            if not live.rows and not rows:
                return


def _prefill(model, rows, adapter_of, lock, device, pad_id, context) -> _Live:
    """Read new rows' prompts in one forward pass; choose and hand over their first tokens."""
    import torch

    prompts = [row.ids[-context:] for row in rows]
    for row, prompt in zip(rows, prompts):
        row.left = max(0, min(row.max_tokens, context - len(prompt)))
    width = max(len(p) for p in prompts)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, prompt in enumerate(prompts):
        ids[i, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
        mask[i, width - len(prompt):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with lock:
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                    use_cache=True, adapter_names=[adapter_of(r) for r in rows])
    live = _Live(list(rows), out.past_key_values, mask, positions[:, -1:])
    _choose(live, out.logits[:, -1].float().cpu(), device)
    return live


def _step(model, live: _Live, adapter_of, lock, device) -> None:
    """One token for every live row."""
    import torch

    ids = torch.tensor([[row.last] for row in live.rows], dtype=torch.long)
    live.mask = torch.cat([live.mask, torch.ones((len(live.rows), 1), dtype=torch.long)], dim=1)
    live.last = live.last + 1
    with lock:
        out = model(input_ids=ids.to(device), attention_mask=live.mask.to(device), position_ids=live.last.to(device),
                    past_key_values=live.past, use_cache=True, adapter_names=[adapter_of(r) for r in live.rows])
    live.past = out.past_key_values
    _choose(live, out.logits[:, -1].float().cpu(), device)


def _choose(live: _Live, logits, device) -> None:
    """Sample each row's next token and hand it over; finished rows leave the batch and the cache."""
    import torch

    from cadre.generation import sample_next

    keep = []
    for slot, row in enumerate(live.rows):
        token = None if row.left <= 0 or row.stopped() else sample_next(logits[slot], row.temperature, row.top_p)
        if token is not None and token not in row.stop_ids:
            row.out.put(token)
            row.last, row.left = token, row.left - 1
        if token is not None and token not in row.stop_ids and row.left > 0:
            keep.append(slot)
        else:
            row.out.put(END)
    if len(keep) < len(live.rows):
        index = torch.tensor(keep, dtype=torch.long)
        if keep:
            live.past.batch_select_indices(index.to(device))
        live.rows, live.mask, live.last = [live.rows[s] for s in keep], live.mask[index], live.last[index]


def _joinable(past) -> bool:
    """Only plain dynamic caches are padded and joined (a sliding-window cache is not)."""
    from transformers.cache_utils import DynamicLayer

    return all(type(layer) is DynamicLayer for layer in getattr(past, "layers", [None]))


def _join(live: _Live, fresh: _Live) -> _Live:
    """Append fresh rows to a running batch: both caches left-padded (masked) to one length."""
    import torch

    if not fresh.rows:
        return live
    if not live.rows:
        return fresh
    length = max(live.mask.shape[1], fresh.mask.shape[1])

    def pad(t, dim):  # zeros on the left of `dim` up to `length`
        short = length - t.shape[dim]
        if not short:
            return t
        shape = list(t.shape)
        shape[dim] = short
        return torch.cat([torch.zeros(shape, dtype=t.dtype, device=t.device), t], dim=dim)

    for mine, theirs in zip(live.past.layers, fresh.past.layers):
        mine.keys = torch.cat([pad(mine.keys, 2), pad(theirs.keys, 2)], dim=0)
        mine.values = torch.cat([pad(mine.values, 2), pad(theirs.values, 2)], dim=0)
    return _Live(live.rows + fresh.rows, live.past, torch.cat([pad(live.mask, 1), pad(fresh.mask, 1)], dim=0),
                 torch.cat([live.last, fresh.last], dim=0))
