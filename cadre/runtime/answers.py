"""Checks on a model's answer before it is shown, shared by the engine and the tools."""
from __future__ import annotations

import re


def looks_degenerate(text: str | None) -> bool:
    """Empty, or one word making up most of a longer answer ("a a a a a"): what an
    undertrained tiny model produces."""
    words = re.findall(r"\w+", (text or "").lower())
    if not words:
        return True
    top = max(words.count(w) for w in set(words))
    return len(words) >= 6 and top / len(words) > 0.5
