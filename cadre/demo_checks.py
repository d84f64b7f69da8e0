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


# The LoRA specialists' requests, written the way each was trained (its spec's prompt template).
SQL_REQUEST = ("Database schema: singer(Singer_ID, Name, Country, Song_Name, Song_release_year, Age, Is_male); "
               "concert(concert_ID, concert_Name, Theme, Stadium_ID, Year)\n"
               "Question: How many singers are from France?\nWrite one SQL query that answers it.")
SQL_GOLD = "SELECT count(*) FROM singer WHERE Country = 'France'"
SPAM_REQUEST = ("SMS message: WINNER!! You have been selected to receive a £900 prize reward! To claim call "
                "09061701461. Claim code KL341. Valid 12 hours only.\nIs this message spam or ham (a normal message)?")


def check_sql(answer: str) -> tuple[bool, str]:
    """A SELECT over the question's table; exact match with the gold query is reported too."""
    from cadre.evaluation.judges import normalize_sql, sql

    norm = normalize_sql(answer)
    ok = norm.startswith("select") and "singer" in norm
    exact = sql(answer, SQL_GOLD) == 1.0
    how = "a SELECT over singer" if ok else "not a SELECT over singer"
    return ok, f"{how}; {'matches' if exact else 'differs from'} the gold query {SQL_GOLD!r} (sql judge)"


def check_spam(answer: str) -> tuple[bool, str]:
    """The prize message is called spam."""
    words = re.findall(r"[a-z]+", answer.lower())
    ok = bool(words) and words[0] == "spam"
    return ok, f"label {'spam' if ok else repr(' '.join(words[:3]))} (the message is a prize scam)"


# each LoRA specialist the demo can ship (data/adapters/NAME): its request and its check
TEAM_REQUESTS = {"sql": (SQL_REQUEST, check_sql), "spam": (SPAM_REQUEST, check_spam)}
