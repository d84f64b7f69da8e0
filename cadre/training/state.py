"""Saving and restoring optimizer state without pickles: tensors go to safetensors,
scalars and hyperparameters to JSON."""
from __future__ import annotations

import json
from pathlib import Path

from cadre.checkpoint import load_safetensors

OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "trainer_state.json"


def save_optimizer(optimizer, folder: Path) -> None:
    """Write the optimizer's per-parameter tensors and its param groups."""
    import torch
    from safetensors.torch import save_file

    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{index}.{key}"] = value
    save_file(tensors, str(folder / OPTIMIZER_FILE))
    (folder / "optimizer.json").write_text(json.dumps({"param_groups": sd["param_groups"], "scalars": scalars}))


def load_optimizer(optimizer, folder: Path) -> None:
    """Restore what save_optimizer wrote into an optimizer over the same parameters."""
    tensors = load_safetensors(folder / OPTIMIZER_FILE)
    extra = json.loads((folder / "optimizer.json").read_text())
    state: dict[int, dict] = {}
    for name, value in [*tensors.items(), *extra["scalars"].items()]:
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": extra["param_groups"]})
