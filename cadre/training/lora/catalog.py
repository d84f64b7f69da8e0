"""The catalog of LoRA specialists: `configs/specialists/*.yaml` as pydantic models.

A spec names the task, the base model, where the data comes from and how each example
becomes an instruction (prompt template + response template), the metrics, the LoRA and
training settings (defaults: a standard SFT config), the quality gates, and a smaller
`local_test` recipe for a quick CPU run. Every model forbids unknown keys, so a typo in
a YAML file is an error naming the key rather than a silently ignored setting.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cadre.errors import CadreError

CATALOG_DIR = Path(__file__).resolve().parents[3] / "configs" / "specialists"
CLASSIFICATION_METRICS = {"accuracy", "macro_f1"}
GENERATION_METRICS = {"accuracy", "pass@1", "exact_match", "rouge_l", "bleu", "chrf"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    """Where the examples come from and which columns hold what.

    `path` is a file, a folder (with `files` naming the splits) or `hf:NAME[:CONFIG]`.
    `columns` maps the names used by the templates to the dataset's own column names.
    With `split: files`, the dataset's own train/validation/test files are used (SST-2's
    872 GLUE validation sentences are its test split), a missing validation or test split
    being carved out of train; with `split: random`, one table (or the union of `files`)
    is split 80/10/10 with `seed`; with `split: ranges`, rows go by the integer in
    `range_column` (MBPP's standard task-id splits).
    """

    path: str
    files: dict[Literal["train", "validation", "test"], str] = Field(default_factory=dict)
    format: Literal["auto", "csv", "tsv", "jsonl", "json", "conll", "trec"] = "auto"  # auto: by extension
    columns: dict[str, str]
    label_names: dict[str, str] = Field(default_factory=dict)
    strip: dict[str, str] = Field(default_factory=dict)  # field → regex removed while cleaning
    # field → fewest words kept in train/validation (SST-2's train split is mostly phrase
    # fragments, its test split full sentences); the test split is never filtered
    train_min_words: dict[str, int] = Field(default_factory=dict)
    # a capped train sample (the local test) takes the labels in turn, so a skewed label set
    # (SMS spam: 13% spam) does not teach a small model to answer the majority label
    balance_train: bool = False
    split: Literal["files", "random", "ranges"] = "random"
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 42
    range_column: str | None = None  # split: ranges → rows whose column lies in [lo, hi]
    ranges: dict[Literal["train", "validation", "test"], tuple[int, int]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self):
        if self.split == "files" and "train" not in self.files and not self.path.startswith("hf:"):
            raise ValueError("split: files needs at least files.train (hf: datasets bring their own)")
        if self.split == "ranges" and not (self.range_column and "train" in self.ranges):
            raise ValueError("split: ranges needs range_column and ranges.train")
        if abs(sum(self.fractions) - 1.0) > 1e-6:
            raise ValueError(f"fractions {self.fractions} must sum to 1")
        return self


class PromptSpec(_Strict):
    """How a row becomes an instruction: `{field}` placeholders name `columns` keys."""

    template: str
    response: str = "{label}"
    system: str | None = None


class LoraSpec(_Strict):
    """LoRA settings (defaults: r=8, alpha=16, dropout=0.05, attention projections)."""

    rank: int = Field(8, ge=1)
    alpha: float = 16
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj", "k_proj", "o_proj"])
    # only the top N transformer layers get adapters (None: all): backpropagation then stops
    # at the lowest adapted layer, which is what makes the CPU local-test recipe affordable
    top_layers: int | None = Field(None, ge=1)


class TrainingSpec(_Strict):
    """Training hyperparameters; the defaults follow TRL's SFTConfig."""

    batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(4, ge=1)
    learning_rate: float = Field(2e-4, gt=0)
    epochs: float = Field(3, gt=0)
    max_steps: int | None = Field(None, ge=1)  # overrides epochs when set
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    weight_decay: float = 0.0
    bf16: bool = True                    # CUDA only; the CPU trains in fp32
    gradient_checkpointing: bool = True  # CUDA only
    max_length: int = Field(512, ge=16)
    eval_batch_size: int = Field(16, ge=1)
    max_new_tokens: int = Field(256, ge=1)
    seed: int = 42


class GateSpec(_Strict):
    """Quality gates on one metric (e.g. sentiment accuracy at least 0.75 baseline, 0.88 tuned).

    A full run fails (exit 3) when the fine-tuned score is below `finetuned_target` or not
    at least `min_improvement` above the baseline; `baseline_target` is reported there,
    and is the gate of a `--baseline-only` run.
    """

    metric: str = "accuracy"
    baseline_target: float | None = None
    finetuned_target: float | None = None
    min_improvement: float = 0.0


class ResourceSpec(_Strict):
    """What one run of the specialist needs from a machine: `cadre fleet run` asks Ray for
    it, and an entry asking for more than one GPU trains data-parallel (docs/fleet.md)."""

    cpus: float = Field(1, gt=0)
    gpus: float = Field(0, ge=0)
    memory_gb: float | None = Field(None, gt=0)  # None: no memory reservation


class LocalTestSpec(_Strict):
    """The quick CPU recipe used by `--local-test`: smaller splits, overridden settings
    (each override dict is merged into the spec's block of the same name)."""

    train_size: int = Field(256, ge=1)
    validation_size: int = Field(64, ge=1)
    test_size: int | None = Field(None, ge=1)  # None: the whole test split
    dataset: dict = Field(default_factory=dict)
    training: dict = Field(default_factory=dict)
    lora: dict = Field(default_factory=dict)
    gates: dict = Field(default_factory=dict)
    resources: dict = Field(default_factory=dict)


class SpecialistSpec(_Strict):
    """One specialist of the catalog."""

    name: str
    task: Literal["classification", "generation", "extraction"]
    description: str = ""
    base: str = "smollm2-135m-instruct"
    dataset: DatasetSpec
    prompt: PromptSpec
    metrics: list[str]
    judge: str | None = None  # generation: scores one answer (numeric, code, exact, ...)
    reference: str = "label"  # the `columns` key the judge compares against
    scoring: Literal["loglik", "constrained"] = "loglik"  # classification baseline/eval
    lora: LoraSpec = Field(default_factory=LoraSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    gates: GateSpec = Field(default_factory=GateSpec)
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    local_test: LocalTestSpec = Field(default_factory=LocalTestSpec)

    @model_validator(mode="after")
    def _check(self):
        allowed = CLASSIFICATION_METRICS if self.task == "classification" else GENERATION_METRICS
        bad = [m for m in self.metrics if m not in allowed]
        if bad or not self.metrics:
            raise ValueError(f"metrics {bad or '[]'} not valid for {self.task}; valid: {sorted(allowed)}")
        if self.gates.metric not in self.metrics:
            raise ValueError(f"gates.metric {self.gates.metric!r} is not one of metrics {self.metrics}")
        if self.task == "classification" and "label" not in self.dataset.columns:
            raise ValueError("a classification specialist needs columns.label")
        if self.task != "classification" and not self.judge:
            raise ValueError(f"a {self.task} specialist needs a judge (exact, numeric, code, ...)")
        return self

    @property
    def is_classification(self) -> bool:
        """True for label-predicting specialists (scored by label likelihood)."""
        return self.task == "classification"

    def for_local_test(self) -> SpecialistSpec:
        """A copy with the local_test overrides applied to dataset, training, lora, gates
        and resources."""
        lt = self.local_test
        data = self.model_dump()
        data["dataset"] = {**data["dataset"], **lt.dataset}
        data["training"] = {**data["training"], **lt.training}
        data["lora"] = {**data["lora"], **lt.lora}
        data["gates"] = {**data["gates"], **lt.gates}
        data["resources"] = {**data["resources"], **lt.resources}
        return _validate(data, f"{self.name} (local_test)")

    def with_overrides(self, **fields) -> SpecialistSpec:
        """A copy with top-level fields replaced (e.g. base=...), re-validated."""
        return _validate({**self.model_dump(), **fields}, self.name)


def _validate(data: dict, where: str, lines: dict | None = None) -> SpecialistSpec:
    from cadre.yamlio import describe

    try:
        return SpecialistSpec.model_validate(data)
    except ValidationError as exc:
        raise CadreError(describe(where, exc, lines)) from None


def load_spec_file(path: str | Path) -> SpecialistSpec:
    """Load one specialist YAML file, with a one-line error naming the file, line and key."""
    from cadre.yamlio import read_mapping

    data, lines = read_mapping(path, "a mapping of specialist settings", missing="no such file")
    return _validate(data, str(path), lines)


def catalog(directory: str | Path = CATALOG_DIR) -> dict[str, Path]:
    """Specialist name → YAML path, for every `*.yaml` in the catalog folder."""
    return {p.stem: p for p in sorted(Path(directory).glob("*.yaml"))}


def load_specialist(name_or_path: str, directory: str | Path = CATALOG_DIR) -> SpecialistSpec:
    """A specialist by catalog name (or a path to its YAML); unknown names list the valid ones."""
    if name_or_path.endswith((".yaml", ".yml")) or Path(name_or_path).is_file():
        return load_spec_file(name_or_path)
    found = catalog(directory)
    if name_or_path not in found:
        raise CadreError(f"unknown specialist {name_or_path!r}; valid: {', '.join(found) or '(none)'}")
    return load_spec_file(found[name_or_path])


def resolve_data_path(path: str, root: str | Path = CATALOG_DIR.parents[1]) -> str:
    """A dataset path from a YAML: `hf:` and absolute paths unchanged; `../shared/...` under
    $CADRE_SHARED when that is set; other relative paths are taken from the current folder
    when they exist there, else from the project root."""
    if path.startswith("hf:") or Path(path).is_absolute():
        return path
    shared = os.environ.get("CADRE_SHARED")  # where ../shared lives when not beside the project
    if shared and Path(path).parts[:2] == ("..", "shared"):
        return str(Path(shared, *Path(path).parts[2:]).resolve())
    return str(Path(path).resolve() if Path(path).exists() else (Path(root) / path).resolve())
