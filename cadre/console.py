"""User-facing messages that are not errors: one line on stderr."""
from __future__ import annotations

import sys


def warn(message: str) -> None:
    """Print a one-line warning to stderr; the work goes on."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def note(message: str) -> None:
    """Print a one-line status message to stderr (progress that has no bar)."""
    print(message, file=sys.stderr, flush=True)
