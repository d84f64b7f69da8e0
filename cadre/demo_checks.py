"""The demo's answer checks: every answer `make demo` shows is checked, and the check is
printed with it (the code runs in the sandboxed code judge; math goes through the numeric
judge; the caption must name what is in the photo)."""
from __future__ import annotations

import ast
import re

from cadre.evaluation.judges import code, extract_code, numeric

# What the bundled photo shows (data/images/ATTRIBUTION.md: an orange dahlia).
PHOTO_WORDS = ("flower", "dahlia", "daisy", "petal", "blossom", "bloom")
REVERSE_CASES = (("hello", "olleh"), ("", ""), ("ab c", "c ba"))


def defined_functions(answer: str) -> list[str]:
    """Names of the top-level functions an answer's code defines (none if it does not parse)."""
    try:
        tree = ast.parse(extract_code(answer))
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


def check_reverse(answer: str) -> tuple[bool, str]:
    """The code answer defines a function that reverses strings, run in the sandbox."""
    names = defined_functions(answer)
    if not names:
        return False, "no Python function found in the answer"
    fn = names[0]
    tests = [f"assert {fn}({given!r}) == {want!r}" for given, want in REVERSE_CASES]
    ok = code(answer, tests) == 1.0
    shown = f"{fn}('hello') == 'olleh' and 2 more cases"
    return ok, f"{shown} {'pass' if ok else 'FAIL'} in the sandboxed code judge"


def check_math(answer: str, expected: float) -> tuple[bool, str]:
    """The final number of the answer is the expected one."""
    ok = numeric(answer, expected) == 1.0
    return ok, f"final number {'=' if ok else '≠'} {expected:g} (numeric judge)"


def check_caption(answer: str) -> tuple[bool, str]:
    """The caption names what the photo shows."""
    found = [w for w in PHOTO_WORDS if re.search(rf"\b{w}", answer, re.IGNORECASE)]
    if found:
        return True, f"names {found[0]!r} (the photo is an orange dahlia)"
    return False, "does not name a flower (the photo is an orange dahlia)"


def check_chat(answer: str) -> tuple[bool, str]:
    """A chat answer is judged by eye; only emptiness is caught here."""
    return bool(answer.strip()), "free text: read it (not machine-checked)"
