"""The size presets: one table of rows, read by `from_name(name, **overrides)`.

This module imports only the standard library, so the CLI and config loading stay fast.
Parameter targets assume the shared 8192-token vocabulary with tied embeddings.
"""
from __future__ import annotations

from dataclasses import dataclass, replace, fields

from cadre.errors import CadreError

DEFAULT_VOCAB_SIZE = 8192


@dataclass(frozen=True)
class Preset:
    """One model size: a Llama architecture and the parameter count it aims at."""

    name: str
    n_layer: int
    d_model: int
    n_head: int
    n_kv_head: int
    d_ff: int
    context: int
    target_params: float

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    def estimate_params(self, vocab_size: int = DEFAULT_VOCAB_SIZE) -> int:
        """Analytic parameter count of the causal LM with tied embeddings."""
        d = self.d_model
        attention = 2 * d * d + 2 * d * self.n_kv_head * self.head_dim
        per_layer = attention + 3 * d * self.d_ff + 2 * d  # + two RMSNorm weights
        return vocab_size * d + self.n_layer * per_layer + d

    def memory_bytes(self, bytes_per_param: int, vocab_size: int = DEFAULT_VOCAB_SIZE) -> int:
        """Weight memory at a given precision (4 for fp32, 2 for bf16)."""
        return self.estimate_params(vocab_size) * bytes_per_param


_ROWS = [
    # name       layers width heads kv   d_ff   ctx   target
    ("nano",        2,    96,   4,   4,   256,   256, 1e6),
    ("micro",       5,   128,   4,   4,   320,   256, 2e6),
    ("tiny",        6,   192,   6,   6,   640,   512, 5e6),
    ("mini",        8,   256,   8,   8,   896,   512, 10e6),
    ("small",      12,   384,   8,   8,  1152,  1024, 27e6),
    ("compact",    12,   512,   8,   8,  1536,  1024, 50e6),
    ("medium",     12,   768,  12,  12,  2048,  1024, 85e6),
    ("base",       14,   832,  13,  13,  2240,  2048, 125e6),
    ("large",      16,  1024,  16,   8,  2816,  2048, 200e6),
    ("huge",       22,  1280,  20,  10,  3072,  2048, 350e6),
    ("giant",      20,  1536,  24,   8,  4096,  4096, 500e6),
    ("xl",         24,  2048,  32,   8,  5632,  4096, 1e9),
    ("xl-plus",    28,  2304,  36,  12,  6144,  4096, 1.5e9),
    ("titan",      32,  2816,  44,  11,  7680,  4096, 3e9),
    ("xxl",        32,  4096,  32,  32, 11008,  4096, 7e9),
]

PRESETS: dict[str, Preset] = {row[0]: Preset(*row) for row in _ROWS}


def names() -> list[str]:
    """Preset names from smallest to largest."""
    return list(PRESETS)


def from_name(name: str, **overrides) -> Preset:
    """Look up a preset by name, optionally overriding fields (e.g. context=128)."""
    if name not in PRESETS:
        raise CadreError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    valid = {f.name for f in fields(Preset)}
    unknown = set(overrides) - valid
    if unknown:
        raise CadreError(f"unknown preset field(s) {sorted(unknown)}; valid: {sorted(valid)}")
    return replace(PRESETS[name], **overrides)
