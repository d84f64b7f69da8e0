"""Range checks for a training run's numbers, before anything is read or written.

Each bad value is one CadreError naming the flag, so `cadre train --batch-size 0` or
`--lr nan` stops with a one-line error instead of a traceback or a silent default.
"""
from __future__ import annotations

import math

from cadre.errors import CadreError


def check_train_numbers(cfg) -> None:
    """Raise CadreError for an epoch count, batch size, learning rate or fraction out of range."""
    try:
        _check(cfg)
    except TypeError:  # a string or null where a number belongs (a damaged trainer_state.json)
        raise CadreError("training settings hold a value that is not a number") from None


def _check(cfg) -> None:
    if cfg.epochs is not None and (isinstance(cfg.epochs, bool) or cfg.epochs < 1):
        raise CadreError(f"--epochs must be at least 1 (got {cfg.epochs})")
    if cfg.batch_size < 1:
        raise CadreError(f"--batch-size must be at least 1 (got {cfg.batch_size})")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise CadreError(f"--lr must be a positive finite number (got {cfg.lr})")
    _fraction("--val-split", cfg.val_split, top_open=True)
    _fraction("--distill-alpha", cfg.distill_alpha)
    if cfg.subword_dropout is not None:
        _fraction("--subword-dropout", cfg.subword_dropout, top_open=True)


def _fraction(flag: str, value: float, top_open: bool = False) -> None:
    ok = math.isfinite(value) and 0 <= value and (value < 1 if top_open else value <= 1)
    if not ok:
        raise CadreError(f"{flag} must be in [0, 1{')' if top_open else ']'} (got {value})")
