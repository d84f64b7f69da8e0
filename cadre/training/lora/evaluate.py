"""Scoring a causal LM (base or base + LoRA) on a specialist's test split.

Classification: each label's verbalizer is scored after the prompt, either by its full
log-likelihood (`loglik`: the sum of the label tokens' log-probabilities, end-of-turn
token included so that no label wins by being a prefix of another) or by greedy decoding
constrained to the label set (`constrained`: one forward per label token, which is what
makes 77 Banking77 labels affordable). When every label is one token the two coincide
and one forward per example suffices. Generation: greedy decoding, then a judge.
"""
from __future__ import annotations

from collections.abc import Callable

PROMPT_FALLBACK = "{prompt}\n\nAnswer:"


# ----------------------------------------------------------------------------- encoding
def render_prompt(tokenizer, prompt: str, system: str | None) -> str:
    """The full text fed to the model: the chat template when the tokenizer has one."""
    if getattr(tokenizer, "chat_template", None):
        msgs = ([{"role": "system", "content": system}] if system is not None else [])
        msgs.append({"role": "user", "content": prompt})
        return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    return PROMPT_FALLBACK.format(prompt=((system + "\n\n") if system else "") + prompt) + " "


def encode_prompt(tokenizer, text: str) -> list[int]:
    """Token ids of a rendered prompt (a chat template already holds its special tokens)."""
    special = not getattr(tokenizer, "chat_template", None)
    return tokenizer(text, add_special_tokens=special).input_ids


def encode_response(tokenizer, text: str) -> list[int]:
    """Token ids of a response, closed by the end-of-turn (eos) token."""
    ids = tokenizer(text, add_special_tokens=False).input_ids
    return ids + ([tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else [])


def pad_batch(seqs: list[list[int]], pad_id: int, left: bool):
    """Pad to a (B, T) LongTensor pair (input_ids, attention_mask)."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        sl = slice(width - len(s), width) if left else slice(0, len(s))
        ids[i, sl] = torch.tensor(s, dtype=torch.long)
        mask[i, sl] = 1
    return ids, mask


def _batches(order: list[int], size: int):
    for i in range(0, len(order), size):
        yield order[i:i + size]


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)


# ----------------------------------------------------------------------------- classification
def classify(model, tokenizer, prompts: list[list[int]], labels: list[str], method: str = "loglik",
             batch_size: int = 16, progress: Callable | None = None) -> list[str]:
    """Predict one label per prompt (token ids) by label likelihood or constrained decoding."""
    label_ids = [tokenizer(lab, add_special_tokens=False).input_ids for lab in labels]
    if all(len(ids) == 1 for ids in label_ids) and len({ids[0] for ids in label_ids}) == len(labels):
        scores = _first_token_scores(model, tokenizer, prompts, [ids[0] for ids in label_ids], batch_size, progress)
        return [labels[max(range(len(labels)), key=row.__getitem__)] for row in scores]
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    label_ids = [ids + eos for ids in label_ids]
    if method == "constrained":
        return _constrained(model, tokenizer, prompts, labels, label_ids, batch_size, progress)
    return _loglik(model, tokenizer, prompts, labels, label_ids, batch_size, progress)


def _first_token_scores(model, tokenizer, prompts, token_ids, batch_size, progress) -> list[list[float]]:
    """Log-probability of each single-token label after each prompt: rows (N, L)."""
    import torch

    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # less padding
    out: list = [None] * len(prompts)
    for idx in _batches(order, batch_size):
        ids, mask = pad_batch([prompts[i] for i in idx], _pad_id(tokenizer), left=True)
        with torch.no_grad():
            logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                           logits_to_keep=1).logits[:, -1].float()  # (B, V)
        logp = logits.log_softmax(-1)[:, token_ids].cpu().tolist()  # (B, L)
        for i, row in zip(idx, logp):
            out[i] = row
        if progress:
            progress(len(idx))
    return out


def _loglik(model, tokenizer, prompts, labels, label_ids, batch_size, progress) -> list[str]:
    """Sum of label-token log-probs for every (prompt, label) pair; argmax per prompt."""
    import torch

    preds = []
    for p in prompts:
        seqs = [p + lab for lab in label_ids]
        totals = []
        for idx in _batches(list(range(len(seqs))), batch_size):
            ids, mask = pad_batch([seqs[i] for i in idx], _pad_id(tokenizer), left=False)
            with torch.no_grad():
                logp = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)
                             ).logits.float().log_softmax(-1).cpu()  # (B, T, V)
            for row, i in enumerate(idx):
                start = len(p)
                tgt = label_ids[i]
                pos = torch.arange(start - 1, start - 1 + len(tgt))
                totals.append(logp[row, pos, torch.tensor(tgt)].sum().item())
        preds.append(labels[max(range(len(labels)), key=totals.__getitem__)])
        if progress:
            progress(1)
    return preds


def _constrained(model, tokenizer, prompts, labels, label_ids, batch_size, progress) -> list[str]:
    """Greedy decoding restricted, token by token, to continuations of some label."""
    import torch

    out: list = [None] * len(prompts)
    for idx in _batches(list(range(len(prompts))), batch_size):
        live = {i: list(range(len(labels))) for i in idx}  # prompt → labels still possible
        depth = 0
        while any(len(c) > 1 for c in live.values()):
            seqs = [prompts[i] + label_ids[live[i][0]][:depth] for i in idx]
            ids, mask = pad_batch(seqs, _pad_id(tokenizer), left=True)
            with torch.no_grad():
                logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                               logits_to_keep=1).logits[:, -1].float().cpu()  # (B, V)
            for row, i in enumerate(idx):
                cands = live[i]
                if len(cands) > 1:
                    allowed = {label_ids[c][depth] for c in cands if depth < len(label_ids[c])}
                    best = max(allowed, key=lambda t: logits[row, t].item())
                    live[i] = [c for c in cands if depth < len(label_ids[c]) and label_ids[c][depth] == best]
            depth += 1
        for i in idx:
            out[i] = labels[live[i][0]]
        if progress:
            progress(len(idx))
    return out


# ----------------------------------------------------------------------------- generation
def generate(model, tokenizer, prompts: list[list[int]], max_new_tokens: int, batch_size: int = 8,
             progress: Callable | None = None) -> list[str]:
    """Greedy completions (decoded, special tokens dropped) for prompt token ids."""
    import torch

    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list = [""] * len(prompts)
    for idx in _batches(order, batch_size):
        ids, mask = pad_batch([prompts[i] for i in idx], _pad_id(tokenizer), left=True)
        with torch.no_grad():
            gen = model.generate(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                                 max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=_pad_id(tokenizer), eos_token_id=tokenizer.eos_token_id)
        texts = tokenizer.batch_decode(gen[:, ids.shape[1]:], skip_special_tokens=True)  # (B,) new text
        for i, text in zip(idx, texts):
            out[i] = text.strip()
        if progress:
            progress(len(idx))
    return out


# ----------------------------------------------------------------------------- evaluation
def evaluate(model, tokenizer, spec, examples: list[dict], labels: list[str] | None,
             progress: Callable | None = None) -> dict:
    """Run the model over formatted examples and compute the specialist's metrics.

    Returns {"metrics": {name: float}, "n": int, "predictions": [...]} plus, for
    classification, "per_class" and "confusion" (rows: true label, columns: predicted).
    """
    from cadre.evaluation import (
        metrics as M,  # leaf modules: no cadre imports beyond errors
    )

    prompts = [encode_prompt(tokenizer, render_prompt(tokenizer, ex["prompt"], spec.prompt.system))
               for ex in examples]
    batch = spec.training.eval_batch_size
    if spec.is_classification:
        preds = classify(model, tokenizer, prompts, labels, spec.scoring, batch, progress)
        truth = [ex["metadata"]["label"] for ex in examples]
        scores = [float(t == p) for t, p in zip(truth, preds)]
        result = {"metrics": {"accuracy": M.accuracy(truth, preds),
                              "macro_f1": M.macro_f1(truth, preds, labels)},
                  "per_class": M.per_class_report(truth, preds, labels),
                  "confusion": M.confusion(truth, preds, labels)}
    else:
        preds = generate(model, tokenizer, prompts, spec.training.max_new_tokens, max(1, batch // 2), progress)
        scores = _judge_all(spec.judge, preds, examples)
        refs = [ex["response"] for ex in examples]
        result = {"metrics": {m: _generation_metric(m, scores, refs, preds, M) for m in spec.metrics}}
    result["metrics"] = {k: v for k, v in result["metrics"].items() if k in spec.metrics}
    result["n"] = len(examples)
    result["predictions"] = [{"prompt": ex["prompt"][:300], "reference": ex["metadata"].get("reference"),
                              "prediction": p, "score": s} for ex, p, s in zip(examples, preds, scores)]
    if spec.is_classification:  # the true label, for metrics that are not a mean over examples
        for row, ex in zip(result["predictions"], examples):
            row["label"] = ex["metadata"]["label"]
    return result


def _judge_all(spec_judge: str, answers: list[str], examples: list[dict]) -> list[float]:
    from cadre.evaluation.judges import get_judge

    judge = get_judge(spec_judge)
    return [judge(a, ex["metadata"]["reference"]) for a, ex in zip(answers, examples)]


def _generation_metric(name: str, scores, refs, preds, M) -> float:
    """accuracy and pass@1 are the mean judge score; the rest compare text to the reference."""
    if name in ("accuracy", "pass@1"):
        return sum(scores) / len(scores) if scores else 0.0
    return M.get_metric(name)(refs, preds)

