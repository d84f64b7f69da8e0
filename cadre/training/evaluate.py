"""`cadre eval` and `cadre generate` over a cadre checkpoint folder."""
from __future__ import annotations

import math
from typing import Iterator

from cadre.errors import CadreError
from cadre.encoding import collate
from cadre.modeling import open_checkpoint


def evaluate_checkpoint(model_dir, data, limit: int | None = None, max_tokens: int = 128) -> dict:
    """A JSON-ready report; the contract that later tools (benchmarks, gates) read."""
    from cadre.data import load_examples

    model, meta, encoder = open_checkpoint(model_dir)
    examples = load_examples(data)[:limit]
    if meta.get("labels"):
        return _classifier_report(model, meta["labels"], encoder, examples)
    return _generative_report(model, encoder, examples, max_tokens)


def _classifier_report(model, labels, encoder, examples) -> dict:
    import torch
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    unknown = sorted({ex.label for ex in examples} - set(labels))
    if any(ex.label is None for ex in examples) or unknown:
        raise CadreError(f"test labels {unknown or '(missing)'} are not among the model's labels {labels}")
    index = {label: i for i, label in enumerate(labels)}
    encoded = [encoder.classification(ex.question, index[ex.label]) for ex in examples]
    preds = []
    with torch.no_grad():
        for start in range(0, len(encoded), 64):
            ids, mask, _ = collate(encoded[start:start + 64], encoder.pad)
            preds += model(input_ids=ids, attention_mask=mask).logits.argmax(-1).tolist()
    gold = [e.target for e in encoded]
    present = sorted(set(gold) | set(preds))
    p, r, f, support = precision_recall_fscore_support(gold, preds, labels=present, zero_division=0)
    return {
        "kind": "router", "examples": len(gold),
        "accuracy": sum(a == b for a, b in zip(gold, preds)) / len(gold),
        "macro_f1": float(f1_score(gold, preds, average="macro")),
        "per_class": {labels[c]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
                      for i, c in enumerate(present)},
        "labels": labels,
        "confusion": confusion_matrix(gold, preds, labels=list(range(len(labels)))).tolist(),
    }


def _generative_report(model, encoder, examples, max_tokens: int) -> dict:
    import torch

    from cadre.data.splits import normalize

    encoded = [encoder.causal(ex.question, ex.answer) for ex in examples]
    total, tokens = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(encoded), 32):
            ids, mask, labels = collate(encoded[start:start + 32], encoder.pad)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]  # (B, T-1, V)
            target = labels[:, 1:]  # (B, T-1)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                     ignore_index=-100, reduction="sum")
            total, tokens = total + loss.item(), tokens + int((target != -100).sum())
    matches = sum(normalize(_answer(model, encoder, ex.question, max_tokens)) == normalize(ex.answer) for ex in examples)
    loss = total / max(tokens, 1)
    return {"kind": "generative", "examples": len(examples), "loss": loss,
            "perplexity": math.exp(min(loss, 50)), "exact_match": matches / len(examples)}


def _answer(model, encoder, question: str, max_tokens: int) -> str:
    return "".join(_stream(model, encoder, question, max_tokens, temperature=0.0, top_p=1.0, seed=None)).strip()


def _stream(model, encoder, question, max_tokens, **sampling) -> Iterator[str]:
    from cadre.generation import stream_text

    ids, _ = encoder.prompt_ids(question, budget=max(encoder.context // 2, 8))
    yield from stream_text(model, encoder.tok, ids, max_tokens, {encoder.eos, encoder.pad}, **sampling)


def stream_answer(model_dir, prompt: str, max_tokens: int = 128, **sampling) -> Iterator[str]:
    """Stream a generative checkpoint's answer to one prompt."""
    model, meta, encoder = open_checkpoint(model_dir)
    if meta.get("labels"):
        raise CadreError(f"{model_dir} is a router (classifier); use `cadre route` or `cadre eval`")
    first = True
    for piece in _stream(model, encoder, prompt, max_tokens, **sampling):
        yield piece.lstrip() if first else piece
        first = first and not piece.strip()
