"""The project file (cadre.yaml) as pydantic models, and the legacy
`specialized_models.json`, which loads into the same `ProjectConfig`.

Every model has `extra="forbid"`, so a typo is an error; errors name the file, the line
and the field (`configs/cadre.yaml:14: models[1].backend: ...`). No torch import here.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cadre.builtin_tools import TOOL_NAMES
from cadre.errors import CadreError

# The capability names; cadre.runtime.registry.ModelCapability has exactly these values.
CAPABILITIES = ("primary_chat", "intent_classification", "code_generation", "math",
                "vision_captioning", "prompt_enhancement", "summarization", "translation", "embedding",
                "specialist")  # specialist: a narrow task (a LoRA adapter) reached by a route naming it
TOOLS = TOOL_NAMES  # the built-in tools (cadre/builtin_tools.py)
RESERVED_NAMES = ("auto",)
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 2**10, "m": 1e6, "mb": 1e6, "mib": 2**20,
          "g": 1e9, "gb": 1e9, "gib": 2**30, "t": 1e12, "tb": 1e12, "tib": 2**40}
# Seed model types (the keys of specialized_models.json) and the capability each serves.
SEED_TYPES = {"router": "intent_classification", "vision": "vision_captioning",
              "code": "code_generation", "math": "math"}
PRIMARY_DEFAULT = "smollm2-135m-instruct"
# Weight quantization of a local model: int8 (dynamic, CPU), 4bit (bitsandbytes NF4, CPU or CUDA).
QUANTIZATIONS = ("int8", "4bit")


def check_quantization(value: str | None) -> str | None:
    """The one rule for `quantization`, in cadre.yaml and in ModelSpec alike."""
    if value is not None and value not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)} (or null), not {value!r}")
    return value


def parse_size(value: float | str) -> int:
    """Bytes of a size like 2GB, 512MB, 1.5GiB or a plain number of bytes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"size must be positive, got {value}")
        return int(value)
    match = _SIZE.match(str(value))
    if not match or (match.group(2) or "").lower() not in _UNITS:
        raise ValueError(f"{value!r} is not a size; write it like 2GB, 512MB or 1.5GiB")
    size = int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    if size <= 0:
        raise ValueError(f"size must be positive, got {value!r}")
    return size


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelEntry(_Strict):
    """One model of the registry (see cadre.runtime.registry.ModelSpec for the meaning)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    backend: str = "local"
    path: str | None = None
    url: str | None = None
    capabilities: list[str] = Field(min_length=1)
    max_context: int = Field(2048, gt=0)
    supports_function_calling: bool = False
    quantization: str | None = None   # int8 | 4bit (check_quantization)
    memory_mb: float | None = Field(None, gt=0)
    priority: int = 50
    cost_per_1k_tokens: float = Field(0.0, ge=0)
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$")
    keep_alive: float | None = Field(None, ge=0)
    pinned: bool | None = None
    force: bool = False           # serve this specialist even if its recorded score loses (or is missing)
    description: str = ""
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("capabilities")
    @classmethod
    def _known_capabilities(cls, caps: list[str]) -> list[str]:
        unknown = [c for c in caps if c not in CAPABILITIES]
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
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_NAMES or name.startswith("router-"):
            raise ValueError(f"{name!r} is reserved for routing (auto, router-<kind>-<threshold>)")
        return name

    @model_validator(mode="after")
    def _location(self) -> ModelEntry:
        if self.backend in ("local", "onnx") and not self.path:
            raise ValueError(f"backend {self.backend!r} needs a path")
        if self.backend == "openai" and not self.url:
            raise ValueError("backend 'openai' needs a url (the server's /v1 base)")
        return self


class RuntimeSettings(_Strict):
    """How the runtime spends memory and time."""

    memory_budget: int | str | dict[str, int | str] = "auto"
    keep_alive: float = Field(300.0, ge=0)
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$")
    quantize_int8: bool = False
    max_tool_steps: int = Field(3, ge=1, le=10)
    tool_calling: Literal["auto", "primary", "router"] = "auto"
    max_concurrent: int = Field(4, ge=1)
    max_queue: int = Field(32, ge=0)
    # remote (HTTP) upstreams hold no local slots: their own, wider limit per model
    remote_max_concurrent: int = Field(256, ge=1)
    remote_max_queue: int = Field(256, ge=0)
    threads: int | None = Field(None, ge=1)

    @field_validator("memory_budget")
    @classmethod
    def _sizes(cls, value):
        if isinstance(value, dict):
            for device, size in value.items():
                if not re.match(r"^(cpu|cuda(:[0-9]+)?)$", device):
                    raise ValueError(f"budget device {device!r} must be cpu or cuda[:N]")
                if size != "auto":
                    parse_size(size)
        elif value != "auto":
            parse_size(value)
        return value


class RouterSettings(_Strict):
    """Which router decides the intent, and what happens below its threshold."""

    enabled: bool = True
    model: str | None = None
    threshold: float | None = Field(None, ge=0, le=1)
    keyword_fallback: bool = True
    default_route: str = "chat"
    # A learned router's labels → registry model names; a label not listed is itself a model name.
    labels: dict[str, str] = Field(default_factory=dict)


class GatewaySettings(_Strict):
    """Failover, cool-downs and the decision log of the gateway (see docs/gateway.md).

    A model that fails `allowed_fails` times within `fail_window_s` seconds is skipped for
    `cooldown_s` seconds. Every routed request appends one record to `decision_log`
    (relative to the project file's folder); prompts are kept only with `log_prompts`.
    The log rotates when it would pass `decision_log_max_size` (null: never), keeping
    `decision_log_keep` older files (decisions.jsonl.1 ... .N).
    """

    failover: bool = True
    allowed_fails: int = Field(3, ge=1)
    fail_window_s: float = Field(60.0, gt=0)
    cooldown_s: float = Field(30.0, ge=0)
    decision_log: str | None = "runs/gateway/decisions.jsonl"
    log_prompts: bool = False
    decision_log_max_size: int | str | None = "64MB"
    decision_log_keep: int = Field(4, ge=0, le=1000)

    @field_validator("decision_log_max_size")
    @classmethod
    def _log_size(cls, value):
        if value is not None:
            parse_size(value)
        return value

    def log_max_bytes(self) -> int | None:
        """The decision log's rotation size in bytes (None: it never rotates)."""
        return None if self.decision_log_max_size is None else parse_size(self.decision_log_max_size)


class Autoscaling(_Strict):
    """Ray Serve's autoscaling for one deployment (`cadre serve --ray`): between
    `min_replicas` and `max_replicas`, aiming at `target_ongoing_requests` per replica."""

    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(2, ge=1)
    target_ongoing_requests: float = Field(8.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} is above max_replicas {self.max_replicas}")
        return self


class DeploymentScale(_Strict):
    """One Ray Serve deployment: a fixed `replicas` count or `autoscaling`, and the CPUs
    each replica reserves (0 lets replicas share a small machine)."""

    replicas: int = Field(1, ge=1, le=256)
    autoscaling: Autoscaling | None = None
    num_cpus: float = Field(0.0, ge=0)
    max_ongoing_requests: int = Field(64, ge=1)


class ModelScale(DeploymentScale):
    """The model deployment: also how many models one replica keeps loaded (None: as many
    as the memory budget holds, from the models' estimates)."""

    max_models_per_replica: int | None = Field(None, ge=1)


class ScaleSettings(_Strict):
    """`cadre serve --ray`: the HTTP ingress replicas and the model replicas (docs/scale.md)."""

    ingress: DeploymentScale = Field(default_factory=DeploymentScale)
    models: ModelScale = Field(default_factory=ModelScale)


class RouteTarget(_Strict):
    """Where one intent goes: a capability (the best model for it), a tool, or a model."""

    capability: str | None = None
    tool: str | None = None
    model: str | None = None
    learned: str | None = None    # a learned-router model: it picks among its labels' models

    @model_validator(mode="after")
    def _exactly_one(self) -> RouteTarget:
        given = [k for k in ("capability", "tool", "model", "learned") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("a route names exactly one of capability, tool, model or learned")
        if self.capability and self.capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {self.capability!r}; valid: {', '.join(CAPABILITIES)}")
        if self.tool and self.tool not in TOOLS:
            raise ValueError(f"unknown tool {self.tool!r}; valid: {', '.join(TOOLS)}")
        return self


DEFAULT_ROUTES = {
    "chat": RouteTarget(capability="primary_chat"),
    "code": RouteTarget(tool="generate_code"),
    "math": RouteTarget(tool="solve_math"),
    "vision": RouteTarget(tool="describe_image"),
    "image": RouteTarget(tool="enhance_prompt"),
    "summarize": RouteTarget(tool="summarize"),
    "translate": RouteTarget(tool="translate"),
}


class ProjectConfig(_Strict):
    """A whole project: the models, the router, the routes and the runtime settings."""

    version: Literal[1] = 1
    name: str = "cadre"
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    router: RouterSettings = Field(default_factory=RouterSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    scale: ScaleSettings = Field(default_factory=ScaleSettings)
    routes: dict[str, RouteTarget] = Field(default_factory=dict)
    models: list[ModelEntry] = Field(min_length=1)
    base_dir: str = Field(".", exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> ProjectConfig:
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate model name(s) {dupes}")
        for route, target in self.routes.items():
            for ref in (target.model, target.learned):
                if ref and ref not in names:
                    raise ValueError(f"route {route!r} names unknown model {ref!r}; models: {names}")
        if self.router.model and self.router.model not in names:
            raise ValueError(f"router.model {self.router.model!r} is not among the models {names}")
        if not any("primary_chat" in m.capabilities for m in self.models):
            raise ValueError("no model has the primary_chat capability; one must answer chat")
        return self

    def all_routes(self) -> dict[str, RouteTarget]:
        """The default routes, overridden by the project's."""
        return {**DEFAULT_ROUTES, **self.routes}


# ---------------------------------------------------------------- seed format

class SeedModel(_Strict):
    """One entry of a legacy specialized_models.json."""

    path: str
    size: str | None = None
    description: str = ""
    max_seq_len: int = Field(512, gt=0)


class SeedFile(_Strict):
    """A legacy specialized_models.json."""

    enabled: bool = True
    shared_tokenizer: str | None = None
    models: dict[str, SeedModel]

    @field_validator("models")
    @classmethod
    def _known_types(cls, models: dict) -> dict:
        unknown = sorted(set(models) - set(SEED_TYPES))
        if unknown:
            raise ValueError(f"unknown model type(s) {unknown}; valid: {', '.join(SEED_TYPES)}")
        return models


def from_seed(seed: SeedFile, base_dir: str = ".") -> ProjectConfig:
    """Turn the legacy file into a ProjectConfig with SmolLM2 as the primary."""
    from cadre import presets

    entries = [ModelEntry(name="primary", path=PRIMARY_DEFAULT, pinned=True, memory_mb=600,
                          capabilities=["primary_chat", "summarization", "translation", "prompt_enhancement"],
                          max_context=2048, description="SmolLM2-135M-Instruct (default primary)")]
    for kind, m in seed.models.items():
        # A seed .pth path names a cadre checkpoint folder of the same stem (no pickles).
        path = re.sub(r"\.(pth|pt|bin)$", "", m.path)
        estimate = presets.from_name(m.size).memory_bytes(4) / 1e6 * 1.3 + 4 if m.size else None
        backend = "onnx" if kind == "router" else "local"
        entries.append(ModelEntry(name=kind, backend=backend, path=path, capabilities=[SEED_TYPES[kind]],
                                  max_context=m.max_seq_len, description=m.description,
                                  memory_mb=estimate, priority=100))
    router = RouterSettings(enabled=seed.enabled, model="router" if "router" in seed.models else None)
    return ProjectConfig(models=entries, router=router, base_dir=base_dir)


# ---------------------------------------------------------------- loading

def load_config(path: str | Path) -> ProjectConfig:
    """Load cadre.yaml (or a legacy specialized_models.json) with errors naming file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise CadreError(f"{path}: project file not found")
    text = read_text_file(path)
    data, lines = _parse(path, text)
    if not isinstance(data, dict):
        raise CadreError(f"{path}: expected a mapping at the top level")
    base = str(path.resolve().parent)
    try:
        if _is_seed(data):
            return from_seed(SeedFile.model_validate(data), base_dir=base)
        return ProjectConfig.model_validate({**data, "base_dir": base})
    except ValidationError as exc:
        raise CadreError(_describe(path, exc, lines)) from None


def read_text_file(path: Path) -> str:
    """A config file's text; one-line CadreErrors for unreadable, non-UTF-8 or binary files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CadreError(f"{path}: cannot read ({exc.strerror})") from None
    if b"\0" in raw:
        raise CadreError(f"{path}: a binary file, not a text config")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CadreError(f"{path}: not valid UTF-8 (byte {exc.start})") from None


def _is_seed(data: dict) -> bool:
    return isinstance(data.get("models"), dict)


def _parse(path: Path, text: str) -> tuple[Any, dict]:
    """Parsed data and a map from field path to line number (for error messages)."""
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text), {}
        except json.JSONDecodeError as exc:
            raise CadreError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    from cadre.yamlio import load_yaml

    data, node = load_yaml(text, str(path))
    lines: dict = {}
    if node is not None:
        _index_lines(node, (), lines)
    return data, lines


def _index_lines(node, loc: tuple, lines: dict) -> None:
    import yaml

    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[loc + (key.value,)] = key.start_mark.line + 1
            _index_lines(value, loc + (key.value,), lines) if not isinstance(value, yaml.ScalarNode) else None
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, loc + (i,), lines)


def _describe(path: Path, exc: ValidationError, lines: dict) -> str:
    """One line: file:line: field.path: message (plus a count of further errors)."""
    first = exc.errors()[0]
    loc = tuple(first.get("loc", ()))
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top level)"
    line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
    msg = first.get("msg", "invalid").removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{path}{f':{line}' if line else ''}: {field}: {msg}{more}"


def default_config() -> ProjectConfig:
    """SmolLM2 as the primary, plus the specialists `make demo` trains under runs/demo."""
    demo = Path("runs/demo")
    return ProjectConfig(models=[
        ModelEntry(name="smollm2", path=PRIMARY_DEFAULT, pinned=True, memory_mb=600,
                   capabilities=["primary_chat", "summarization", "translation", "prompt_enhancement"]),
        ModelEntry(name="router", backend="onnx", path=str(demo / "router"),
                   capabilities=["intent_classification"], memory_mb=12, priority=100),
        ModelEntry(name="vision", path=str(demo / "vision"), capabilities=["vision_captioning"],
                   memory_mb=40, priority=100),
        ModelEntry(name="code", path=str(demo / "code"), capabilities=["code_generation"],
                   memory_mb=80, priority=100),
    ], router=RouterSettings(model="router"))


def with_device(config: ProjectConfig, device: str | None) -> ProjectConfig:
    """The project with `runtime.device` set (validated as in the file); None keeps it."""
    if device is None:
        return config
    try:
        runtime = RuntimeSettings.model_validate({**config.runtime.model_dump(), "device": device})
    except ValidationError:
        raise CadreError(f"device must be auto, cpu or cuda[:N], not {device!r}") from None
    return config.model_copy(update={"runtime": runtime})


def find_config(explicit: str | Path | None = None) -> ProjectConfig:
    """The project in effect: an explicit path, $CADRE_CONFIG, ./cadre.yaml,
    ./information/specialized_models.json (where the legacy tools kept it), else the default."""
    candidates = [explicit, os.environ.get("CADRE_CONFIG")]
    for candidate in candidates:
        if candidate:
            return load_config(candidate)
    for local in ("cadre.yaml", "information/specialized_models.json"):
        if Path(local).is_file():
            return load_config(local)
    return default_config()
