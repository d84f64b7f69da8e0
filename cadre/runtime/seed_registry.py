"""Seed 002's registry globals, as views over the process-wide registry
(`cadre.runtime.registry.default_registry`, the project in effect):

    MODEL_REGISTRY["my-model/path"] = ModelSpec(model_path="my-model/path", capabilities=[...],
                                                quantization="4bit", gpu_memory_gb=2.5, priority=90)
    CAPABILITY_TO_MODEL[ModelCapability.PROMPT_ENHANCEMENT] = "my-model/path"

`ModelSpec` here is `seed_model_spec`: the seed's keywords (`model_path`, `gpu_memory_gb`)
into cadre's ModelSpec. `get_model_for_capability` and `ModelManager()` read the same
registry; an Engine built from a project file has its own, so in a project add models to
cadre.yaml's `models:` instead.
"""
from __future__ import annotations

from collections.abc import MutableMapping

from cadre.errors import CadreError
from cadre.runtime.registry import ModelCapability, ModelSpec, default_registry


def seed_model_spec(model_path: str, capabilities=(), gpu_memory_gb: float | None = None,
                    name: str | None = None, **fields) -> ModelSpec:
    """A ModelSpec from the seed's keywords: the name defaults to the path, GB to memory_mb."""
    return ModelSpec(name=name or model_path, path=model_path,
                     capabilities=tuple(ModelCapability.parse(c) for c in capabilities),
                     memory_mb=gpu_memory_gb * 1000 if gpu_memory_gb else None, **fields)


class _Models(MutableMapping):
    """name → ModelSpec; setting one registers it (replacing a model of that name)."""

    def __getitem__(self, name: str) -> ModelSpec:
        if name not in default_registry():
            raise KeyError(name)
        return default_registry().get(name)

    def __setitem__(self, name: str, spec: ModelSpec) -> None:
        default_registry().add(spec.replace(name=name), replace=True)

    def __delitem__(self, name: str) -> None:
        raise CadreError("models are removed from the project file, not from the running registry")

    def __iter__(self):
        return iter(default_registry().names())

    def __len__(self) -> int:
        return len(default_registry().names())


class _CapabilityMap(MutableMapping):
    """capability → the name of the model serving it; setting one raises that model's
    priority above every other model with the capability (the registry's rule)."""

    def __getitem__(self, capability) -> str:
        spec = default_registry().for_capability(capability)
        if spec is None:
            raise KeyError(capability)
        return spec.name

    def __setitem__(self, capability, name: str) -> None:
        registry, cap = default_registry(), ModelCapability.parse(capability)
        spec = registry.get(name)
        if cap not in spec.capabilities:
            raise CadreError(f"model {name!r} does not have the {cap.value} capability")
        top = max(s.priority for s in registry.candidates(cap))
        if registry.for_capability(cap).name != name:
            registry.add(spec.replace(priority=top + 1), replace=True)

    def __delitem__(self, capability) -> None:
        raise CadreError("a capability always goes to its highest-priority model")

    def __iter__(self):
        return iter(c.value for c in ModelCapability if default_registry().for_capability(c) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


MODEL_REGISTRY = _Models()
CAPABILITY_TO_MODEL = _CapabilityMap()
