"""Training the softmax heads that sit on frozen sentence vectors: logistic regression
(one linear layer) or an MLP (one hidden ReLU layer, dropout). Trained with AdamW in
torch, returned as numpy arrays ready for safetensors; inference needs only numpy."""
from __future__ import annotations

import numpy as np

from cadre.errors import CadreError

HEADS = ("logreg", "mlp")


def fit_head(x: np.ndarray, y: np.ndarray, n_classes: int, head: str = "logreg", hidden: int = 768,
             epochs: int = 40, lr: float = 2e-3, weight_decay: float = 1e-4, dropout: float = 0.2,
             batch_size: int = 128, label_smoothing: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Fit a head on vectors x (N, D) with class indices y (N,): returns its weights."""
    import torch

    if head not in HEADS:
        raise CadreError(f"unknown head {head!r}; use {' or '.join(HEADS)}")
    torch.manual_seed(seed)
    net = _network(x.shape[1], n_classes, head, hidden, dropout)
    xs, ys = torch.from_numpy(np.asarray(x, dtype=np.float32)), torch.from_numpy(np.asarray(y, dtype=np.int64))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(xs) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    generator = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(xs), generator=generator).split(batch_size):
            loss = loss_fn(net(xs[idx]), ys[idx])  # logits (B, R)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return _export(net, head)


def _network(dim: int, n_classes: int, head: str, hidden: int, dropout: float):
    import torch

    if head == "logreg":
        return torch.nn.Sequential(torch.nn.Linear(dim, n_classes))
    return torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(dim, hidden), torch.nn.ReLU(),
                               torch.nn.Dropout(dropout), torch.nn.Linear(hidden, n_classes))


def _export(net, head: str) -> dict[str, np.ndarray]:
    linears = [m for m in net if hasattr(m, "weight")]
    arrays = [(m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in linears]
    if head == "logreg":
        return {"W": arrays[0][0], "b": arrays[0][1]}  # (R, D), (R,)
    return {"W1": arrays[0][0], "b1": arrays[0][1], "W2": arrays[1][0], "b2": arrays[1][1]}
