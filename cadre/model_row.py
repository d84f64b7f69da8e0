"""The one model row: `ModelSpec` (a cadre.yaml `models:` entry and a registry model
alike) and `ModelCapability`, the one list of capability names. No torch import here;
cadre.config reads project files into these rows and cadre.runtime.registry serves them."""
from __future__ import annotations

import re
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from cadre.errors import CadreError

RESERVED_NAMES = ("auto",)
# Weight quantization of a local model: int8 (dynamic, CPU), 4bit (bitsandbytes NF4, CPU or CUDA).
QUANTIZATIONS = ("int8", "4bit")


def check_quantization(value: str | None) -> str | None:
    """The one rule for `quantization`, in cadre.yaml and in ModelSpec alike."""
    if value is not None and value not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)} (or null), not {value!r}")
    return value



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelCapability(str, Enum):
    """What a model can do; the values are the names used in cadre.yaml (the one list of them)."""

    PRIMARY_CHAT = "primary_chat"
    INTENT_CLASSIFICATION = "intent_classification"
    CODE_GENERATION = "code_generation"
    MATH = "math"
    VISION_CAPTIONING = "vision_captioning"
    PROMPT_ENHANCEMENT = "prompt_enhancement"
    SUMMARIZATION = "summarization"
    TRANSLATION = "translation"
    EMBEDDING = "embedding"
    SPECIALIST = "specialist"  # a narrow task (a LoRA adapter) reached by a route naming it
    PRIMARY_CONVERSATION = "primary_chat"  # an older name for the same capability

    # A member is its name as a string everywhere: ==, sets and dict keys, str() and f-strings.
    __hash__ = str.__hash__
    __str__ = str.__str__

    @classmethod
    def parse(cls, value: str | ModelCapability) -> ModelCapability:
        """A capability from its enum member or its name; unknown names are an error."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise CadreError(f"unknown capability {value!r}; valid: {', '.join(CAPABILITIES)}") from None


CAPABILITIES = tuple(c.value for c in ModelCapability)  # the names, aliases left out
# Where each built-in backend finds its model, for the project file's checks (this module
# imports no backend): the classes' needs_path / needs_url say the same (a test checks).
# A plugin backend validates its own location when it is used.
BACKEND_LOCATION = {"local": "path", "onnx": "path", "openai": "url"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
_ROW = "python_row"  # validation context: a row made in Python, not read from a project file


class ModelSpec(_Strict):
    """One model: where it lives, what it can do, and what it costs. The one row, for a
    cadre.yaml `models:` entry and a registry model alike (`Registry.from_config`
    resolves `path` against the project file and pins the primary when `pinned` is unset).

    A row read from a project file must also name its location and a capability; a row made
    in Python (`ModelSpec("name", ...)`, positional name allowed) may leave them out. Any
    bad field made in Python is a one-line CadreError.
    """

    name: str
    backend: str = "local"
    path: str | None = None
    url: str | None = None
    capabilities: list[ModelCapability] = Field(default_factory=list)
    max_context: int = Field(2048, gt=0)
    supports_function_calling: bool = False
    quantization: str | None = None       # None, "int8" (dynamic, CPU) or "4bit" (NF4, bitsandbytes)
    memory_mb: float | None = Field(None, gt=0)   # the estimate; None → computed from the weights
    priority: int = 50
    cost_per_1k_tokens: float = Field(0.0, ge=0)
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$")
    keep_alive: float | None = Field(None, ge=0)  # idle seconds before unloading; None → manager default
    pinned: bool | None = None            # evicted only to make room, and restored; None → the primary is
    force: bool = False                   # serve even when the scoreboard says the primary is better
    description: str = ""
    options: dict[str, Any] = Field(default_factory=dict)

    def __init__(self, name: str | None = None, /, **fields):
        if name is not None:
            fields["name"] = name
        try:
            self.__pydantic_validator__.validate_python(fields, self_instance=self, context={_ROW: True})
        except ValidationError as exc:
            from cadre.yamlio import describe

            raise CadreError(describe(f"model {fields.get('name')!r}", exc)) from None

    # Rows inside a ProjectConfig are validated as data (with the file's rules and line
    # numbers), not through this __init__: pydantic calls a model's own __init__ for nested
    # data unless it is marked as the base one.
    __init__.__pydantic_base_init__ = True

    @field_validator("capabilities", mode="before")
    @classmethod
    def _known_capabilities(cls, caps, info: ValidationInfo):
        caps = list(caps) if isinstance(caps, (list, tuple)) else caps
        if not caps and not _python_row(info):
            raise ValueError("a model needs at least one capability")
        unknown = [c for c in caps or () if c not in CAPABILITIES]
        if unknown:
            raise ValueError(f"unknown capabilit{'y' if len(unknown) == 1 else 'ies'} {unknown}; "
                             f"valid: {', '.join(CAPABILITIES)}")
        return caps

    @field_validator("quantization")
    @classmethod
    def _known_quantization(cls, value: str | None) -> str | None:
        return check_quantization(value)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str, info: ValidationInfo) -> str:
        if not _python_row(info) and not _NAME.match(name):
            raise ValueError(f"{name!r} is not a model name (letters, digits and . _ : / -)")
        if name in RESERVED_NAMES or name.startswith("router-"):
            raise ValueError(f"{name!r} is reserved for routing (auto, router-<kind>-<threshold>)")
        return name

    @model_validator(mode="after")
    def _location(self, info: ValidationInfo) -> ModelSpec:
        if _python_row(info):
            return self
        needs = BACKEND_LOCATION.get(self.backend)
        if needs == "path" and not self.path:
            raise ValueError(f"backend {self.backend!r} needs a path")
        if needs == "url" and not self.url:
            raise ValueError(f"backend {self.backend!r} needs a url (the server's /v1 base)")
        return self

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

    def replace(self, **changes) -> ModelSpec:
        """A copy with some fields changed, validated again (as dataclasses.replace did)."""
        return type(self)(**{**dict(self), **changes})


ModelEntry = ModelSpec  # the name cadre.yaml's loader used for the same row


def _python_row(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(_ROW))
