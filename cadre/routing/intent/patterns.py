"""Keyword patterns on RE2, a linear-time regular expression engine.

Python's `re` backtracks: a rule such as `\\d+\\s*[-+*]\\s*\\d+` takes quadratic time on a
long run of digits, and it holds the GIL while it runs, so one request could stall the
whole server. RE2 matches in time linear in the text for any pattern, and it refuses what
cannot be matched that way (backreferences, lookaround), which is a load-time error here.
Two more bounds make a request's cost a constant: only the first and last
`SCORED_HALF` characters of a text are scored, and a pattern's compiled program may hold
at most `MAX_PROGRAM` instructions.

RE2 differs from `re` in a few details: `\\b`, `\\w`, `\\d` and `\\s` are ASCII-only (a
plain word or phrase still gets Unicode word boundaries, below), and `{n}` repeats at
most 1000 times.
"""
from __future__ import annotations

import re

import re2

from cadre.errors import CadreError

SCORED_HALF = 4 * 1024   # characters scored from each end of a longer text
MAX_PROGRAM = 5000       # RE2 instructions per pattern: bounds a match's cost per character
_PLAIN = re.compile(r"^[\w' -]+$", re.UNICODE)
_WORD_CHAR = r"[\pL\pN_]"
_NOT_WORD = r"[^\pL\pN_]"


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True  # only "does it match" is asked: the DFA alone answers
    options.log_errors = False    # the error is raised as a CadreError instead of logged to stderr
    return options


_OPTIONS = _options()


def plain_source(phrase: str) -> str:
    """A plain word or phrase as RE2 source with Unicode whole-word edges (what `\\b` is
    in Python's `re`); RE2 has no lookaround, so the edges consume the neighbour."""
    phrase = phrase.strip()
    left = rf"(?:^|{_NOT_WORD})" if _is_word_char(phrase[0]) else _WORD_CHAR
    right = rf"(?:{_NOT_WORD}|$)" if _is_word_char(phrase[-1]) else _WORD_CHAR
    return left + re2.escape(phrase) + right


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def compile_pattern(pattern: str, where: str = ""):
    """A plain word or phrase matches whole words; anything else is an RE2 regular
    expression. Raises a one-line CadreError for what RE2 cannot compile."""
    plain = bool(pattern.strip()) and bool(_PLAIN.match(pattern))
    source = plain_source(pattern) if plain else pattern
    try:
        compiled = re2.compile(source, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise CadreError(f"{where}pattern {pattern!r} is not a valid regular expression for RE2, the "
                         f"linear-time engine keyword rules use ({detail}; backreferences and "
                         f"lookaround are not supported)") from None
    if compiled.programsize > MAX_PROGRAM:
        raise CadreError(f"{where}pattern {pattern!r} is too large ({compiled.programsize} RE2 "
                         f"instructions, at most {MAX_PROGRAM}); split it into smaller patterns")
    return compiled


def scored_text(text: str) -> bytes:
    """The part of a text the rules see, as UTF-8: all of it up to 2 x SCORED_HALF
    characters, else its head and tail (the request usually says what it wants at one end)."""
    if len(text) > 2 * SCORED_HALF:
        text = text[:SCORED_HALF] + "\n" + text[-SCORED_HALF:]
    return text.encode("utf-8", "replace")
