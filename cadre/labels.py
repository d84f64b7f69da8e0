"""Label rules every layer shares: the out-of-scope label and its spellings."""
from __future__ import annotations

from typing import Iterable

OUT_OF_SCOPE = "out_of_scope"
OOS_LABELS = frozenset({"oos", OUT_OF_SCOPE})


def is_out_of_scope(label) -> bool:
    return str(label) in OOS_LABELS


def canonical_label(label) -> str:
    """`oos` (CLINC's spelling) and `out_of_scope` are one label: `out_of_scope`."""
    return OUT_OF_SCOPE if is_out_of_scope(label) else str(label)


def canonical_labels(labels: Iterable) -> list[str]:
    return [canonical_label(label) for label in labels]
