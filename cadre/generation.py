"""Token-by-token generation with the KV cache, for cadre checkpoints and HF models."""
from __future__ import annotations

from typing import Iterator


def sample_next(logits, temperature: float, top_p: float, generator=None) -> int:
    """Pick the next token from logits (V,): greedy at temperature 0, else nucleus sampling."""
    import torch

    if temperature <= 0:
        return int(logits.argmax())
    probs = torch.softmax(logits.float() / temperature, dim=-1)  # (V,)
    if top_p < 1.0:
        sorted_p, order = probs.sort(descending=True)
        keep = sorted_p.cumsum(0) - sorted_p < top_p  # always keeps the top token
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
    return int(torch.multinomial(probs / probs.sum(), 1, generator=generator))


def penalise(logits, counts: dict[int, int], presence: float, frequency: float):
    """OpenAI's penalties: each produced token's logit lowered by `presence` once and by
    `frequency` per time it occurred (negative values raise it)."""
    if not counts or not (presence or frequency):
        return logits
    import torch

    ids = torch.tensor(list(counts))
    times = torch.tensor(list(counts.values()), dtype=logits.dtype)
    logits = logits.clone()
    logits[ids] -= presence + frequency * times
    return logits


def stream_ids(model, input_ids: list[int], max_tokens: int, stop_ids: set[int],
               temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None,
               presence_penalty: float = 0.0, frequency_penalty: float = 0.0, trace: list | None = None,
               top: int = 0) -> Iterator[int]:
    """Yield generated token ids one at a time, reusing the KV cache between steps. With
    `trace`, each token's (id, logprob, [(id, logprob) of the `top` likeliest]) is appended."""
    import torch

    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    counts: dict[int, int] = {}
    context = getattr(model.config, "max_position_embeddings", 1 << 30)
    ids = torch.tensor([input_ids[-context:]])  # (1, T)
    past = None
    with torch.no_grad():
        for _ in range(max(0, min(max_tokens, context - ids.shape[1]))):
            out = model(input_ids=ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            logits = penalise(out.logits[0, -1], counts, presence_penalty, frequency_penalty)
            token = sample_next(logits, temperature, top_p, generator)
            if token in stop_ids:
                return
            if trace is not None:
                trace.append(_logprobs(logits, token, top))
            counts[token] = counts.get(token, 0) + 1
            yield token
            ids = torch.tensor([[token]])  # (1, 1): only the new token goes through the model


def _logprobs(logits, token: int, top: int) -> tuple:
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    best = torch.topk(logp, top) if top else None
    return token, float(logp[token]), ([(int(i), float(v)) for v, i in zip(best.values, best.indices)]
                                       if best is not None else [])


def stream_text(model, tokenizer, input_ids: list[int], max_tokens: int, stop_ids: set[int],
                **sampling) -> Iterator[str]:
    """Yield decoded text pieces; decoding the running sequence keeps multi-byte characters whole."""
    produced: list[int] = []
    emitted = ""
    for token in stream_ids(model, input_ids, max_tokens, stop_ids, **sampling):
        produced.append(token)
        text = tokenizer.decode(produced)
        if text.endswith("\ufffd"):
            continue  # an incomplete UTF-8 sequence: wait for the next byte
        yield text[len(emitted):]
        emitted = text
