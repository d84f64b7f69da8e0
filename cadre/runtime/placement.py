"""Seed 002's roadmap calls over the manager's own settings:

    keep_in_memory([ModelCapability.PROMPT_ENHANCEMENT])        # pinned, loaded now
    assign_device(ModelCapability.PRIMARY_CONVERSATION, "cuda:0")  # its next load lands there

Each works on the model that serves the capability (the registry's rule: highest
priority). `manager` defaults to the process-wide engine's (`get_router().engine.manager`).
In cadre.yaml the same are `pinned: true` / `keep_alive:` and `device:` per model.
"""
from __future__ import annotations

from typing import Iterable

from cadre.errors import CadreError
from cadre.runtime.registry import ModelCapability


def _manager(manager):
    if manager is not None:
        return manager
    from cadre.runtime.tool_router import get_router

    return get_router().engine.manager


def _serving(manager, capability) -> str:
    spec = manager.registry.for_capability(ModelCapability.parse(capability))
    if spec is None:
        raise CadreError(f"no model has the {ModelCapability.parse(capability).value} capability")
    return spec.name


def keep_in_memory(capabilities: Iterable[ModelCapability | str], manager=None, load: bool = True) -> list[str]:
    """Pin the models serving these capabilities (never unloaded when idle, evicted only
    to make room and restored afterwards) and load them now; returns their names."""
    manager = _manager(manager)
    names = list(dict.fromkeys(_serving(manager, cap) for cap in capabilities))
    for name in names:
        manager.respec(name, pinned=True)
        if load:
            manager.load(name)
    return names


def assign_device(capability: ModelCapability | str, device: str, manager=None) -> str:
    """Run the model serving a capability on `device` (cpu, cuda, cuda:N, auto) from its
    next load; an idle loaded model is unloaded now. Returns the model's name."""
    import re

    from cadre.runtime.memory import require_device

    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", device):
        raise CadreError(f"device must be auto, cpu or cuda[:N], not {device!r}")
    require_device(device)
    manager = _manager(manager)
    name = _serving(manager, capability)
    manager.respec(name, device=device)
    return name
