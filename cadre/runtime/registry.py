"""The model registry: `ModelSpec` rows and the capability → model mapping
(`ModelCapability`, `ModelSpec` and `get_model_for_capability`).

A capability maps to the registered model with the highest priority that has it; ties go
to the model registered first.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from cadre.config import CAPABILITIES, ModelEntry, ProjectConfig, check_quantization
from cadre.errors import CadreError
from cadre.runtime.errors import UnknownModel


class ModelCapability(str, Enum):
    """What a model can do; the values are the names used in cadre.yaml."""

    PRIMARY_CHAT = "primary_chat"
    INTENT_CLASSIFICATION = "intent_classification"
    CODE_GENERATION = "code_generation"
    MATH = "math"
    VISION_CAPTIONING = "vision_captioning"
    PROMPT_ENHANCEMENT = "prompt_enhancement"
    SUMMARIZATION = "summarization"
    TRANSLATION = "translation"
    EMBEDDING = "embedding"
    SPECIALIST = "specialist"  # a narrow task (a LoRA adapter) that a route names
    PRIMARY_CONVERSATION = "primary_chat"  # an older name for the same capability

    @classmethod
    def parse(cls, value: str | ModelCapability) -> ModelCapability:
        """A capability from its enum member or its name; unknown names are an error."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise CadreError(f"unknown capability {value!r}; valid: {', '.join(CAPABILITIES)}") from None



@dataclass
class ModelSpec:
    """One model: where it lives, what it can do, and what it costs."""

    name: str
    backend: str = "local"
    path: str | None = None
    url: str | None = None
    capabilities: tuple[ModelCapability, ...] = ()
    max_context: int = 2048
    supports_function_calling: bool = False
    quantization: str | None = None       # None, "int8" (dynamic, CPU) or "4bit" (NF4, bitsandbytes)
    memory_mb: float | None = None        # the estimate; None → computed from the weights
    priority: int = 50
    cost_per_1k_tokens: float = 0.0
    device: str = "auto"
    keep_alive: float | None = None       # idle seconds before unloading; None → manager default
    pinned: bool = False                  # evicted only to make room, and restored afterwards
    force: bool = False                   # serve even when the scoreboard says the primary is better
    description: str = ""
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        try:
            check_quantization(self.quantization)  # the same rule as cadre.yaml's
        except ValueError as exc:
            raise CadreError(f"model {self.name!r}: {exc}") from None

    @property
    def model_path(self) -> str:
        """An alias: the path, URL or hub name of the model."""
        return self.path or self.url or ""

    @property
    def gpu_memory_gb(self) -> float | None:
        """An alias for the memory estimate, in GB."""
        return self.memory_mb / 1000 if self.memory_mb else None

    def has(self, capability: ModelCapability | str) -> bool:
        """Whether this model serves a capability."""
        return ModelCapability.parse(capability) in self.capabilities


class Registry:
    """The models of one project, by name and by capability."""

    def __init__(self, specs: Iterable[ModelSpec] = ()):
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ModelSpec, replace: bool = False) -> None:
        """Register a model; a duplicate name is an error unless `replace`."""
        if spec.name in self._specs and not replace:
            raise CadreError(f"model {spec.name!r} is already registered")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ModelSpec:
        """The spec of a model by name, or UnknownModel naming the valid ones."""
        if name not in self._specs:
            raise UnknownModel(f"unknown model {name!r}; models: {', '.join(self._specs) or '(none)'}")
        return self._specs[name]

    def names(self) -> list[str]:
        """Model names in registration order."""
        return list(self._specs)

    def __iter__(self):
        return iter(list(self._specs.values()))

    def __contains__(self, name: str) -> bool:
        return name in self._specs

    def candidates(self, capability: ModelCapability | str) -> list[ModelSpec]:
        """Every model with a capability, best (highest priority) first."""
        cap = ModelCapability.parse(capability)
        specs = [s for s in self._specs.values() if cap in s.capabilities]
        return sorted(specs, key=lambda s: -s.priority)  # stable: ties keep registration order

    def for_capability(self, capability: ModelCapability | str) -> ModelSpec | None:
        """The model serving a capability (highest priority), or None."""
        found = self.candidates(capability)
        return found[0] if found else None

    def primary(self) -> ModelSpec:
        """The primary chat model."""
        spec = self.for_capability(ModelCapability.PRIMARY_CHAT)
        if spec is None:
            raise CadreError("no model has the primary_chat capability")
        return spec

    @classmethod
    def from_config(cls, config: ProjectConfig) -> Registry:
        """Build the registry of a project file, resolving relative paths."""
        registry = cls()
        primary_name = max((m for m in config.models if "primary_chat" in m.capabilities),
                           key=lambda m: m.priority).name
        for entry in config.models:
            registry.add(spec_from_entry(entry, config.base_dir, entry.name == primary_name))
        return registry


def spec_from_entry(entry: ModelEntry, base_dir: str = ".", is_primary: bool = False) -> ModelSpec:
    """A ModelSpec from one validated cadre.yaml entry."""
    return ModelSpec(
        name=entry.name, backend=entry.backend, path=resolve_path(entry.path, base_dir), url=entry.url,
        capabilities=tuple(ModelCapability(c) for c in entry.capabilities), max_context=entry.max_context,
        supports_function_calling=entry.supports_function_calling, quantization=entry.quantization,
        memory_mb=entry.memory_mb, priority=entry.priority, cost_per_1k_tokens=entry.cost_per_1k_tokens,
        device=entry.device, keep_alive=entry.keep_alive,
        pinned=is_primary if entry.pinned is None else entry.pinned, force=entry.force,
        description=entry.description, options=dict(entry.options))


def resolve_path(path: str | None, base_dir: str = ".") -> str | None:
    """A relative path that exists from the working directory or the project file's folder
    becomes absolute; anything else (a model name, a hub id, a missing path) is kept."""
    if not path:
        return path
    p = Path(path).expanduser()
    if p.is_absolute():
        return str(p)
    for root in (Path.cwd(), Path(base_dir)):
        if (root / p).exists():
            return str((root / p).resolve())
    return path


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The registry of the project in effect (see cadre.config.find_config)."""
    global _DEFAULT
    if _DEFAULT is None:
        from cadre.config import find_config

        _DEFAULT = Registry.from_config(find_config())
    return _DEFAULT


def get_model_for_capability(capability: ModelCapability | str,
                             registry: Registry | None = None) -> ModelSpec | None:
    """The lookup: the highest-priority model serving a capability, or None."""
    return (registry or default_registry()).for_capability(capability)
