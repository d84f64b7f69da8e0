"""The torch predictors of the learned router: a multi-output MLP and RouteLLM's
matrix-factorisation model, trained with a masked, class-weighted BCE and early stopping.

Both map a feature vector to one logit per model; P(correct) = sigmoid(logit). Missing
scores (NaN in Y) are masked out of the loss. Class weights (the original
`USE_CLASS_WEIGHTS`) scale each model's positives by neg/pos, clipped to [1/4, 4]; the
router calibrates the resulting probabilities afterwards (`calibrator`).
"""
from __future__ import annotations

import copy

import numpy as np

MLP_DEFAULTS = {"hidden_dims": [512, 256, 128], "dropout": 0.3, "learning_rate": 1e-3,
                "batch_size": 64, "epochs": 50, "patience": 10, "weight_decay": 0.0,
                "class_weights": True}
# The random-search grid of the original MLP recipe.
MLP_GRID = {"hidden_dims": [[256, 128], [512, 256], [512, 256, 128]],
            "dropout": [0.2, 0.3, 0.4, 0.5], "learning_rate": [1e-4, 5e-4, 1e-3],
            "batch_size": [32, 64, 128], "weight_decay": [0, 1e-6, 1e-5, 1e-4]}
MF_DEFAULTS = {"dim": 128, "learning_rate": 3e-3, "batch_size": 64, "epochs": 60,
               "patience": 10, "weight_decay": 1e-5, "class_weights": True}
MF_GRID = {"dim": [32, 64, 128, 256], "learning_rate": [1e-3, 3e-3, 1e-2],
           "batch_size": [32, 64, 128], "weight_decay": [0, 1e-5, 1e-4]}


def build_mlp(in_dim: int, n_models: int, hidden_dims, dropout: float):
    """Input → [Linear, BatchNorm, ReLU, Dropout] × len(hidden_dims) → Linear(n_models) logits."""
    import torch.nn as nn

    layers, width = [], in_dim
    for h in hidden_dims:
        layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(dropout)]
        width = h
    layers.append(nn.Linear(width, n_models))
    return nn.Sequential(*layers)


def build_mf(in_dim: int, n_models: int, dim: int):
    """RouteLLM's MF scorer, pointwise: logit(x, m) = wᵀ(norm(P_m) ⊙ W x) + b_m."""
    import torch
    import torch.nn as nn

    class MF(nn.Module):
        def __init__(self):
            super().__init__()
            self.P = nn.Embedding(n_models, dim)  # one vector per model
            self.text_proj = nn.Linear(in_dim, dim, bias=False)
            self.classifier = nn.Linear(dim, 1, bias=False)
            self.bias = nn.Parameter(torch.zeros(n_models))

        def forward(self, x):  # x: (B, D)
            models = nn.functional.normalize(self.P.weight, dim=1)  # (M, d)
            prompt = self.text_proj(x)  # (B, d)
            joint = prompt[:, None, :] * models[None, :, :]  # (B, M, d)
            return self.classifier(joint).squeeze(-1) + self.bias  # (B, M)

    return MF()


def pos_weights(Y: np.ndarray) -> np.ndarray:
    """Per-model weight on positives, neg/pos over observed labels, clipped to [1/4, 4]."""
    obs = ~np.isnan(Y)
    pos = np.nansum(Y, axis=0)
    neg = obs.sum(axis=0) - pos
    return np.clip(neg / np.maximum(pos, 1e-6), 0.25, 4.0).astype(np.float32)  # (M,)


def init_output_bias(bias, Y: np.ndarray) -> None:
    """Start each model's output bias at the logit of its observed success rate."""
    import torch

    rate = np.clip(np.nan_to_num(np.nanmean(Y, axis=0), nan=0.5), 0.02, 0.98)
    with torch.no_grad():
        bias.copy_(torch.from_numpy(np.log(rate / (1 - rate)).astype(np.float32)))


def masked_bce(logits, y, mask, pos_weight=None):
    """Mean BCE over observed entries; positives weighted by `pos_weight` (M,)."""
    import torch.nn.functional as F

    loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight, reduction="none")
    return (loss * mask).sum() / mask.sum().clamp_min(1.0)


def train_net(net, X: np.ndarray, Y: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray,
              hp: dict, seed: int):
    """Adam with masked BCE; keeps the weights with the best validation loss (patience)."""
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xt, yt, mt = _tensors(X, Y)
    xv, yv, mv = _tensors(X_val, Y_val)
    pw = torch.from_numpy(pos_weights(Y)) if hp.get("class_weights", True) else None
    opt = torch.optim.AdamW(net.parameters(), lr=hp["learning_rate"], weight_decay=hp["weight_decay"])
    best, best_state, waited, bs = float("inf"), copy.deepcopy(net.state_dict()), 0, int(hp["batch_size"])
    for _epoch in range(int(hp["epochs"])):
        net.train()
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(order), bs):
            idx = order[i:i + bs]
            if len(idx) < 2:  # BatchNorm needs two rows
                continue
            opt.zero_grad()
            masked_bce(net(xt[idx]), yt[idx], mt[idx], pw).backward()
            opt.step()
        val = validation_loss(net, xv, yv, mv)
        if val < best - 1e-4:
            best, best_state, waited = val, copy.deepcopy(net.state_dict()), 0
        else:
            waited += 1
            if waited >= int(hp["patience"]):
                break
    net.load_state_dict(best_state)
    return net.eval(), best


def validation_loss(net, xv, yv, mv) -> float:
    """Unweighted masked BCE on validation tensors."""
    import torch

    net.eval()
    with torch.no_grad():
        return float(masked_bce(net(xv), yv, mv))


def _tensors(X: np.ndarray, Y: np.ndarray):
    import torch

    mask = ~np.isnan(Y)
    return (torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)),
            torch.from_numpy(np.nan_to_num(Y).astype(np.float32)),
            torch.from_numpy(mask.astype(np.float32)))


def predict_net(net, X: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Sigmoid outputs, shape (N, M)."""
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            out.append(torch.sigmoid(net(torch.from_numpy(np.ascontiguousarray(X[i:i + batch],
                                                                              dtype=np.float32)))).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
