"""Decoding a batch of requests, each through its own LoRA adapter, one forward pass per token.

Prompts are left-padded to one width (with an attention mask and per-row positions, so
each row computes what it would alone); every step feeds each live row's new token and
PEFT routes each row through its adapter (`adapter_names=`). Finished rows leave the batch
and the KV cache (`batch_select_indices`), so a short answer does not cost the long ones.
"""
from __future__ import annotations

import threading


def decode_batch(model, rows: list, adapter_names: list[str], lock: threading.RLock, device: str,
                 pad_id: int) -> None:
    """Generate for every row (cadre.runtime.backends.lora_host.Row), putting each token id
    on its row's queue as soon as it is chosen."""
    import torch

    from cadre.generation import sample_next

    context = getattr(model.config, "max_position_embeddings", 1 << 30)
    prompts = [row.ids[-context:] for row in rows]
    width = max(len(p) for p in prompts)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, prompt in enumerate(prompts):
        ids[i, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
        mask[i, width - len(prompt):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    left = [max(0, min(row.max_tokens, context - len(p))) for row, p in zip(rows, prompts)]
    live = [i for i in range(len(rows)) if left[i] > 0]
    ids, mask, positions = ids[live], mask[live], positions[live]
    past = None
    with torch.inference_mode():
        while live:
            with lock:
                out = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                            position_ids=positions.to(device), past_key_values=past, use_cache=True,
                            adapter_names=[adapter_names[i] for i in live])
            past, logits = out.past_key_values, out.logits[:, -1].float().cpu()
            tokens, keep = [], []
            for slot, i in enumerate(live):
                if _step(rows[i], logits[slot], left, i, sample_next):
                    keep.append(slot)
                    tokens.append(rows[i].last)
            if len(keep) < len(live):  # finished rows leave the batch and the cache
                index = torch.tensor(keep, dtype=torch.long)
                if keep:
                    past.batch_select_indices(index.to(device))
                live, mask, positions = [live[s] for s in keep], mask[index], positions[index]
            if not live:
                return
            ids = torch.tensor(tokens, dtype=torch.long)[:, None]
            mask = torch.cat([mask, torch.ones((len(live), 1), dtype=torch.long)], dim=1)
            positions = positions[:, -1:] + 1


def _step(row, logits, left: list[int], i: int, sample_next) -> bool:
    """Choose one row's next token and hand it over; False when the row is finished."""
    if row.stopped():
        return False
    token = sample_next(logits, row.temperature, row.top_p)
    if token in row.stop_ids:
        return False
    row.out.put(token)
    row.last = token
    left[i] -= 1
    return left[i] > 0
