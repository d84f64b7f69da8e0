"""The model registry: the project's `ModelSpec` rows (the one row type, defined with
`ModelCapability` in cadre.model_row) and the capability → model mapping
(`get_model_for_capability`).

A capability maps to the registered model with the highest priority that has it; ties go
to the model registered first.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cadre.config import ProjectConfig
from cadre.model_row import ModelCapability, ModelSpec
from cadre.errors import CadreError
from cadre.runtime.errors import UnknownModel

__all__ = ["ModelCapability", "ModelSpec", "Registry", "default_registry", "get_model_for_capability"]


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
        if spec.pinned is None:  # a row made in Python that did not say: not pinned
            spec = spec.model_copy(update={"pinned": False})
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


def spec_from_entry(entry: ModelSpec, base_dir: str = ".", is_primary: bool = False) -> ModelSpec:
    """The registry's copy of one cadre.yaml row: its path resolved, and pinned when it is
    the primary and the file did not say."""
    return entry.model_copy(update={
        "path": resolve_path(entry.path, base_dir), "capabilities": list(entry.capabilities),
        "pinned": is_primary if entry.pinned is None else entry.pinned, "options": dict(entry.options)})


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
