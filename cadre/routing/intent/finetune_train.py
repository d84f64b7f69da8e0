"""Fine-tuning the packaged all-MiniLM-L6-v2 on the user's intents (`--kind finetune`):
the whole encoder and a linear head over its mean-pooled, L2-normalised vector, trained
with cross-entropy. The head starts from a logistic regression fitted on the frozen
vectors, so every step improves on the `embedding` kind rather than on chance.

On a GPU it trains in bf16 autocast; on the CPU in fp32, within a wall-clock budget: the
learning-rate schedule is planned for the steps that fit (the first steps are timed),
and training stops cleanly, keeping the weights so far, when the budget is spent. The
result is exported to ONNX (`export_onnx`) and served by onnxruntime.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


@dataclass
class FinetuneConfig:
    epochs: int = 4
    lr: float = 5e-5  # the encoder's peak learning rate
    head_lr: float = 1e-3
    batch_size: int = 32
    max_tokens: int = 64
    budget_s: float | None = None  # wall seconds for training; None: all epochs
    warmup: float = 0.06  # share of the planned steps
    seed: int = 0
    timing_steps: int = 4  # steps timed before the schedule is planned to fit the budget


class Classifier:
    """Factory for the torch module (kept out of import time: torch loads lazily)."""

    @staticmethod
    def build(bert, n_classes: int):
        import torch

        class Module(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert, self.head = bert, torch.nn.Linear(bert.config.hidden_size, n_classes)

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids).last_hidden_state  # (B, T, H)
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)  # (B, H)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                return self.head(pooled)  # logits (B, R)

        return Module()


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def finetune(texts: Sequence[str], y: np.ndarray, n_classes: int, cfg: FinetuneConfig,
             head_init: dict | None = None, say: Callable[[str], None] | None = None):
    """Train; returns (module on the CPU in eval mode, tokenizer, report dict)."""
    import torch

    from cadre.encoders.minilm import load_minilm

    torch.manual_seed(cfg.seed)
    base = load_minilm()
    tokenizer = base.tokenizer
    model = Classifier.build(copy.deepcopy(base[0].auto_model), n_classes)  # never the shared encoder
    if head_init is not None:
        with torch.no_grad():
            model.head.weight.copy_(torch.from_numpy(np.asarray(head_init["W"], dtype=np.float32)))
            model.head.bias.copy_(torch.from_numpy(np.asarray(head_init["b"], dtype=np.float32)))
    where = device()
    model.to(where).train()
    batches = _batches(list(texts), np.asarray(y), tokenizer, cfg)
    per_epoch = len(batches)
    opt = torch.optim.AdamW([{"params": model.bert.parameters(), "lr": cfg.lr},
                             {"params": model.head.parameters(), "lr": cfg.head_lr}], weight_decay=0.01)
    planned = cfg.epochs * per_epoch
    peaks = [cfg.lr, cfg.head_lr]
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(cfg.seed)
    start, step, stopped, losses = time.perf_counter(), 0, "epochs done", []
    for epoch in range(cfg.epochs):
        for b in rng.permutation(per_epoch):
            if cfg.budget_s is not None and time.perf_counter() - start >= cfg.budget_s:
                stopped = f"budget of {cfg.budget_s:.0f} s spent"
                break
            if step == cfg.timing_steps and cfg.budget_s is not None:  # plan the schedule to fit the budget
                per_step = (time.perf_counter() - start) / step
                planned = max(step + 1, min(planned, int(cfg.budget_s / per_step)))
            _set_lr(opt, peaks, step, planned, cfg.warmup)
            ids, mask, labels = (t.to(where) for t in batches[b])
            with torch.autocast(where, dtype=torch.bfloat16, enabled=where == "cuda"):
                loss = loss_fn(model(ids, mask, torch.zeros_like(ids)).float(), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.detach()))
            step += 1
            if step >= planned:
                stopped = "planned steps done"
                break
        else:
            if say:
                say(f"  finetune epoch {epoch + 1}/{cfg.epochs} loss {np.mean(losses[-per_epoch:]):.4f} "
                    f"({time.perf_counter() - start:.0f} s)")
            continue
        break
    model.to("cpu").eval()
    report = {"steps": step, "epochs": round(step / max(1, per_epoch), 2), "stopped": stopped, "device": where,
              "seconds": round(time.perf_counter() - start, 1), "loss": round(float(np.mean(losses[-50:])), 4)
              if losses else None, "dtype": "bf16" if where == "cuda" else "fp32"}
    if say:
        say(f"  finetune: {report['epochs']} epochs in {report['seconds']} s ({stopped})")
    return model, tokenizer, report


def _set_lr(opt, peaks, step: int, planned: int, warmup: float) -> None:
    """Linear warm-up, then linear decay to zero at the planned step."""
    warm = max(1, int(warmup * planned))
    scale = (step + 1) / warm if step < warm else max(0.0, (planned - step) / max(1, planned - warm))
    for group, peak in zip(opt.param_groups, peaks):
        group["lr"] = peak * scale


def _batches(texts, y, tokenizer, cfg: FinetuneConfig) -> list:
    """Batches of similar length (less padding), tokenized once: (ids, mask, labels) tensors."""
    import torch

    order = np.argsort([len(t) for t in texts], kind="stable")
    out = []
    for chunk in range(0, len(order), cfg.batch_size):
        rows = order[chunk:chunk + cfg.batch_size]
        enc = tokenizer([texts[i] if texts[i].strip() else " " for i in rows], padding=True, truncation=True,
                        max_length=cfg.max_tokens, return_tensors="pt")
        out.append((enc["input_ids"], enc["attention_mask"], torch.from_numpy(y[rows].astype(np.int64))))
    return out


def logits(model, tokenizer, texts: Sequence[str], max_tokens: int, batch_size: int = 64) -> np.ndarray:
    """Logits (N, R) from the torch module (for scoring before export)."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            enc = tokenizer([t if t.strip() else " " for t in texts[i:i + batch_size]], padding=True,
                            truncation=True, max_length=max_tokens, return_tensors="pt")
            out.append(model(enc["input_ids"], enc["attention_mask"], torch.zeros_like(enc["input_ids"])).numpy())
    return np.concatenate(out) if out else np.zeros((0, model.head.out_features), dtype=np.float32)


def export_onnx(model, path) -> None:
    """The classifier (tokens → logits) as one ONNX graph with dynamic batch and length."""
    import warnings

    import torch

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.randint(1000, 2000, (2, 9))
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (sample, torch.ones_like(sample), torch.zeros_like(sample)), str(path),
                          dynamo=False, input_names=names, output_names=["logits"], dynamic_axes=axes,
                          opset_version=18)

