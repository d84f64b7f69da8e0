"""A training run's settings and bookkeeping: the config with its per-type defaults,
the resumable state, one epoch's stats, the device rule and the learning-rate schedule."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from cadre.errors import CadreError

TYPE_DEFAULTS = {"router": ("nano", 50), "vision": ("tiny", 40), "code": ("small", 40), "math": ("small", 40)}
GENERIC_DEFAULT = ("small", 40)
FEW_PAIRS = 100


@dataclass
class TrainConfig:
    """Everything a training run needs; mirrors `cadre train`'s flags."""

    type: str
    data: list[str]
    model_size: str | None = None
    epochs: int | None = None
    batch_size: int = 8
    lr: float = 3e-4
    device: str = "auto"
    output: str | None = None
    quiet: bool = False
    val_split: float = 0.1
    seed: int = 0
    init_from: str | None = None
    resume: str | None = None
    tokenizer: str | None = None
    context: int | None = None
    warmup_fraction: float = 0.05
    subword_dropout: float | None = None  # None: 0.1 for routers, 0 for generative types
    teacher: str = "auto"  # auto: tfidf for routers, none; or router:<folder>, a trained router's probabilities
    distill_alpha: float = 0.8  # weight of the teacher's probabilities against the gold label
    word_dropout: float = 0.0   # routers: each word dropped with this probability, each epoch (never all)
    length_buckets: bool = False  # routers: batches of similar length (less padding), in random order
    weight_decay: float = 0.01
    unlabeled: str | None = None  # routers with a router: teacher: transfer texts, teacher term only
    recipe: str = "router"      # the name recorded in cadre.json ("distill" for DISTILL_RECIPE)

    def resolved(self) -> TrainConfig:
        """Fill defaults by type: router nano/50, vision tiny/40, code and math small/40;
        routers regularise with subword dropout 0.1 and a TF-IDF teacher."""
        size, epochs = TYPE_DEFAULTS.get(self.type, GENERIC_DEFAULT)
        out = self.output or f"runs/{self.type}_{self.model_size or size}"
        dropout = self.subword_dropout if self.subword_dropout is not None else (0.1 if self.is_router else 0.0)
        teacher = ("tfidf" if self.is_router else "none") if self.teacher == "auto" else self.teacher
        return TrainConfig(**{**asdict(self), "model_size": self.model_size or size, "epochs": self.epochs or epochs,
                              "output": out, "subword_dropout": dropout, "teacher": teacher})

    @property
    def is_router(self) -> bool:
        return self.type == "router"


# The nano distillation recipe (a router teacher): `TrainConfig(**DISTILL_RECIPE, ...)`.
# Length buckets double the examples per second on a CPU; word and subword dropout are the
# input noise; no validation split (the student is scored by what fits it afterwards).
DISTILL_RECIPE = dict(type="router", recipe="distill", epochs=12, batch_size=32, lr=2e-3, distill_alpha=0.7,
                      word_dropout=0.1, subword_dropout=0.1, length_buckets=True, val_split=0.0, device="cpu")


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    val_loss: float | None
    perplexity: float | None
    tokens_per_s: float
    val_accuracy: float | None = None
    val_macro_f1: float | None = None


@dataclass
class TrainState:
    epoch: int = 0
    global_step: int = 0
    history: list[dict] = field(default_factory=list)


def resolve_device(name: str) -> str:
    """auto → cuda when available; asking for cuda without it is an error."""
    import torch

    if name not in {"auto", "cpu", "cuda"}:
        raise CadreError(f"unknown device {name!r}; use auto, cuda or cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise CadreError("--device cuda was asked for, but CUDA is not available on this machine")
    return "cuda" if name == "auto" and torch.cuda.is_available() else ("cpu" if name == "auto" else name)


def lr_at(step: int, total: int, base: float, warmup_fraction: float) -> float:
    """Linear warmup, then cosine decay to 10% of the base rate."""
    warmup = max(1, int(total * warmup_fraction))
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
