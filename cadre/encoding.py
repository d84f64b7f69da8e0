"""Turning examples into token ids and padded batches, for training and for serving.

A router example becomes `<|bos|><|q|> text <|a|>` (the classifier pools the last
token); a generative one appends the answer and `<|eos|>`, with the loss on the answer
tokens only (prompt labels are -100).
"""
from __future__ import annotations

from dataclasses import dataclass

from cadre.tokenizer import A_MARK, BOS, EOS, PAD, Q_MARK, encode_prompt

IGNORE = -100


@dataclass
class Encoded:
    ids: list[int]
    target: int | list[int]  # class index (router) or per-token labels (causal)
    truncated: bool = False
    soft: list[float] | None = None  # a teacher's class probabilities (router distillation)
    text: str | None = None          # a router example's text (word dropout re-encodes it)


class ExampleEncoder:
    """Encodes prompts and answers with the shared tokenizer, truncating to a context."""

    def __init__(self, tokenizer, context: int):
        self.tok, self.context = tokenizer, context
        self.pad, self.bos, self.eos = (tokenizer.token_to_id(t) for t in (PAD, BOS, EOS))
        self.q, self.a = tokenizer.token_to_id(Q_MARK), tokenizer.token_to_id(A_MARK)

    def prompt_ids(self, text: str, budget: int | None = None) -> tuple[list[int], bool]:
        """`<|bos|><|q|> text <|a|>`, keeping the markers when the text is cut to fit."""
        return encode_prompt(self.tok, text, self.context if budget is None else budget)

    def classification(self, text: str, label_index: int) -> Encoded:
        ids, cut = self.prompt_ids(text)
        return Encoded(ids, label_index, cut, text=text)

    def causal(self, question: str, answer: str) -> Encoded:
        prompt, cut = self.prompt_ids(question, budget=max(self.context // 2, 8))
        answer_ids = self.tok.encode(" " + answer).ids + [self.eos]
        answer_ids = answer_ids[: self.context - len(prompt)]
        labels = [IGNORE] * len(prompt) + answer_ids
        return Encoded(prompt + answer_ids, labels, cut)


def soft_targets(batch: list[Encoded]):
    """The batch's teacher probabilities (B, C), or None when any example has none."""
    import torch

    if any(e.soft is None for e in batch):
        return None
    return torch.tensor([e.soft for e in batch], dtype=torch.float32)


def collate(batch: list[Encoded], pad_id: int):
    """Right-pad a batch: returns input_ids (B, T), attention_mask (B, T), labels."""
    import torch

    width = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(batch), width), dtype=torch.long)  # (B, T)
    for i, e in enumerate(batch):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        mask[i, : len(e.ids)] = 1
    if isinstance(batch[0].target, int):
        labels = torch.tensor([e.target for e in batch])  # (B,)
    else:
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)  # (B, T)
        for i, e in enumerate(batch):
            labels[i, : len(e.target)] = torch.tensor(e.target)
    return ids, mask, labels
