"""Deduplication and the deterministic, stratified validation split."""
from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict

from cadre.data.examples import Example

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and collapse whitespace: near-duplicates compare equal."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def dedupe(examples: list[Example]) -> tuple[list[Example], int]:
    """Drop near-duplicate questions (same normalized text and target); keep the first."""
    seen, kept = set(), []
    for ex in examples:
        key = (normalize(ex.question), ex.label if ex.label is not None else normalize(ex.answer))
        if key not in seen:
            seen.add(key)
            kept.append(ex)
    return kept, len(examples) - len(kept)


def _hash(text: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()


def train_val_split(examples: list[Example], val_fraction: float, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Split deterministically by content hash, stratified by label where there is one.

    The same data and seed always give the same split, independent of file order.
    """
    if val_fraction <= 0:
        return list(examples), []
    groups: dict[str | None, list[Example]] = defaultdict(list)
    for ex in examples:
        groups[ex.label].append(ex)
    train, val = [], []
    for group in groups.values():
        group = sorted(group, key=lambda ex: _hash(normalize(ex.question), seed))
        n_val = math.floor(len(group) * val_fraction + 0.5) if len(group) > 1 else 0
        val += group[:n_val]
        train += group[n_val:]
    return train, val


def data_hash(examples: list[Example]) -> str:
    """A short content hash of the examples, recorded in cadre.json."""
    h = hashlib.sha256()
    for ex in examples:
        h.update(f"{ex.question}\x00{ex.answer}\x00{ex.label}\x01".encode())
    return h.hexdigest()[:16]
