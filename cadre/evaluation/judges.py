"""Judges: score one model answer against a reference, returning a float in [0, 1].

Built-ins: `exact`, `numeric`, `choice`, `code`, `entities` (NER set F1), `sql`
(normalised exact match) and `llm:MODEL`. `get_judge(spec)` turns
a spec string into a callable `judge(answer, reference) -> float`; an unknown name is
rejected with the list of valid ones.

The `code` judge runs model-written code under bubblewrap (see cadre.evaluation.sandbox:
read-only /usr only, private /tmp, empty environment, no network, a PID namespace, CPU,
memory, file-size and process limits) and scores a pass only when the tests ran to their
end. Without bubblewrap it refuses unless --unsafe-judge was given; it then falls back to
rlimits, `unshare -n` where that works and a prelude that disables `socket.socket()`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from cadre.errors import CadreError
from cadre.evaluation.metrics import normalize_answer

Judge = Callable[[str, Any], float]


# ----------------------------------------------------------------------------- exact
def exact(answer: str, reference: Any) -> float:
    """1.0 when the normalised answer equals the normalised reference, else 0.0."""
    return float(normalize_answer(str(answer)) == normalize_answer(str(reference)))


# ----------------------------------------------------------------------------- numeric
_NUM = r"-?\$?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\$?\s*\.\d+"
_FINAL_PATTERNS = (
    re.compile(r"####\s*(" + _NUM + ")"),                              # GSM8K
    re.compile(r"\\boxed\{\s*(" + _NUM + r")\s*\}"),                   # LaTeX
    re.compile(r"answer(?:\s+is)?\s*[:=]?\s*\**\s*(" + _NUM + ")", re.IGNORECASE),  # Answer: 42
)


def _to_float(token: str) -> float | None:
    token = token.replace(",", "").replace("$", "").replace(" ", "")
    try:
        return float(token)
    except ValueError:
        return None


def extract_number(text: Any) -> float | None:
    """The final number of an answer: `#### 42`, `\\boxed{42}`, `Answer: 42`, else the last
    number in the text. Commas and `$` are ignored; None when there is no number."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    text = str(text)
    for pattern in _FINAL_PATTERNS:
        found = pattern.findall(text)
        if found:
            return _to_float(found[-1])
    found = re.findall(_NUM, text)
    return _to_float(found[-1]) if found else None


def numeric(answer: str, reference: Any, rel_tol: float = 1e-6) -> float:
    """1.0 when the final numbers of answer and reference agree (within rel_tol)."""
    got, want = extract_number(answer), extract_number(reference)
    if got is None or want is None:
        return 0.0
    return float(math.isclose(got, want, rel_tol=rel_tol, abs_tol=1e-9))


# ----------------------------------------------------------------------------- choice
_LETTER_PATTERNS = (
    re.compile(r"answer\s*(?:is)?\s*[:=]?\s*\(?([A-J])\b\)?", re.IGNORECASE),
    re.compile(r"^\s*\(?([A-J])(?:[.):]|\s*$)"),  # "B." / "(B)" / "B" alone; not "I think"
    re.compile(r"\(([A-J])\)"),
)


def extract_choice(answer: str, options: Sequence[str] | None = None) -> str | None:
    """The letter an answer picks: `Answer: B`, `(B)`, `B.` at the start, or the one option
    text it contains (when `options` is given). None when it is ambiguous or absent."""
    valid = "ABCDEFGHIJ"[:len(options)] if options else "ABCDEFGHIJ"
    for pattern in _LETTER_PATTERNS:
        m = pattern.search(answer)
        if m and m.group(1).upper() in valid:
            return m.group(1).upper()
    if options:
        norm = normalize_answer(answer)
        hits = [i for i, opt in enumerate(options) if normalize_answer(opt) and normalize_answer(opt) in norm]
        if len(hits) == 1:
            return "ABCDEFGHIJ"[hits[0]]
    return None


def choice(answer: str, reference: Any, options: Sequence[str] | None = None) -> float:
    """1.0 when the answer picks the reference option (a letter, or the option's text)."""
    ref = str(reference).strip()
    if len(ref) != 1 and options:
        matches = [i for i, opt in enumerate(options) if normalize_answer(opt) == normalize_answer(ref)]
        ref = "ABCDEFGHIJ"[matches[0]] if matches else ref
    if len(ref) == 1:
        return float(extract_choice(answer, options) == ref.upper())
    return exact(answer, ref)  # a free-text reference with no options


# ----------------------------------------------------------------------------- code
_NET_PRELUDE = '''\
import socket as _s
class _NoNetwork(_s.socket):  # a subclass, so ssl.SSLSocket etc. still import
    def __init__(self, *a, **k):
        raise OSError("network access is disabled in the cadre code sandbox")
def _no_connection(*a, **k):
    raise OSError("network access is disabled in the cadre code sandbox")
_s.socket, _s.create_connection = _NoNetwork, _no_connection
del _s, _NoNetwork, _no_connection
'''
_FENCE = re.compile(r"```(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL)


def extract_code(answer: str) -> str:
    """The Python code in an answer: the fenced blocks joined, else the whole text."""
    blocks = _FENCE.findall(answer)
    if blocks:
        return "\n\n".join(b.strip("\n") for b in blocks)
    if "```" in answer:  # an unterminated fence (generation cut off): keep what follows it
        return re.sub(r"^.*?```(?:python|py|python3)?[ \t]*\n?", "", answer, count=1, flags=re.DOTALL)
    return answer


def network_isolation() -> list[str]:
    """The no-bwrap fallback's command prefix that cuts the network off ([] when none works)."""
    from cadre.evaluation.sandbox import unshare_prefix

    return unshare_prefix()


def run_python(program: str, timeout: float = 10.0, memory_mb: int = 1024) -> tuple[int, str]:
    """Run a Python program in the sandbox (cadre.evaluation.sandbox); returns (exit code,
    tail of stderr+stdout). The code is 0 only when the program ran to its end: leaving
    early with `sys.exit(0)` or `os._exit(0)` gives 1.

    A negative exit code with "timeout" in the message means the wall-clock limit or
    the CPU-time limit (SIGXCPU, which can fire first on a fast machine) was hit.
    Raises CadreError when no sandbox is available and --unsafe-judge was not given.
    """
    from cadre.evaluation import sandbox

    result = sandbox.run(program if sandbox.detect().kind == "bwrap" else _NET_PRELUDE + program,
                         timeout, memory_mb)
    if result.timed_out and not result.output.startswith("timeout"):
        return result.returncode, "timeout: CPU limit reached"
    return result.returncode, result.output


def code(answer: str, reference: Any, setup: str = "", timeout: float = 10.0,
         memory_mb: int = 1024) -> float:
    """1.0 when the answer's code passes the tests (pass@1 for one sample), else 0.0.

    `reference` is the test code: a string, a list of assert lines, or a dict with
    `test_list` (and optionally `test_setup_code`), as in MBPP.
    """
    if isinstance(reference, dict):
        setup = reference.get("test_setup_code") or setup
        reference = reference.get("test_list") or reference.get("tests") or []
    tests = "\n".join(reference) if isinstance(reference, (list, tuple)) else str(reference)
    program = f"{setup}\n{extract_code(answer)}\n\n{tests}\n"
    rc, _ = run_python(program, timeout=timeout, memory_mb=memory_mb)
    return float(rc == 0)  # 0 only when the harness saw the tests run to the end


# ----------------------------------------------------------------------------- llm
LLM_JUDGE_PROMPT = (
    "You are grading an answer against a reference answer.\n\n"
    "Question or task:\n{question}\n\nReference answer:\n{reference}\n\n"
    "Answer to grade:\n{answer}\n\n"
    "Is the answer correct and consistent with the reference? Reply with one line "
    "'Score: N' where N is an integer from 0 (wrong) to 10 (fully correct)."
)


class LLMJudge:
    """An LLM-as-judge: asks `generate(prompt) -> str` for a 0-10 score, scaled to [0, 1].

    The runtime supplies `generate` (bound to MODEL); an unparsable verdict scores 0.0.
    """

    def __init__(self, model: str, generate: Callable[[str], str] | None = None):
        self.model = model
        self.generate = generate

    def __call__(self, answer: str, reference: Any, question: str = "") -> float:
        """Score one answer; raises CadreError when no generate callable was given."""
        if self.generate is None:
            raise CadreError(f"judge llm:{self.model} needs a generate(prompt) callable; "
                             "the runtime supplies it")
        reply = self.generate(LLM_JUDGE_PROMPT.format(question=question, reference=reference, answer=answer))
        return parse_llm_score(reply)


def parse_llm_score(reply: str) -> float:
    """The 0-10 score in a judge's reply (`Score: 7`, `7/10`, a bare number), scaled to [0, 1]."""
    m = (re.search(r"score\s*[:=]?\s*(\d+(?:\.\d+)?)", reply, re.IGNORECASE)
         or re.search(r"(\d+(?:\.\d+)?)\s*/\s*10", reply) or re.search(r"\b(\d+(?:\.\d+)?)\b", reply))
    if m:
        return min(1.0, max(0.0, float(m.group(1)) / 10.0))
    verdict = reply.strip().lower()
    return 1.0 if verdict.startswith(("correct", "yes")) else 0.0


# ----------------------------------------------------------------------------- entities, sql
def entities(answer: str, reference: Any) -> float:
    """F1 of the (type, words) entity sets of an NER answer and its reference
    (`type: words | ...` or `none`); 1.0 when both name none."""
    from cadre.data.formats import parse_entities

    got, want = parse_entities(answer), parse_entities(reference)
    if not got and not want:
        return 1.0
    hit = len(got & want)
    return 0.0 if not hit else 2 * hit / (len(got) + len(want))


_SQL_PUNCT = re.compile(r"\s*([(),=<>!*])\s*")


def normalize_sql(text: str) -> str:
    """SQL compared loosely: first statement, lower case, one quote style, no spaces
    around punctuation, no trailing semicolon."""
    first = str(text).strip().split(";")[0].splitlines()
    sql = " ".join(" ".join(first).lower().replace('"', "'").split())
    return _SQL_PUNCT.sub(r"\1", sql).strip()


def sql(answer: str, reference: Any) -> float:
    """Exact match of normalised SQL (Spider's exact-match, without the SQLite files that
    execution accuracy needs)."""
    return float(normalize_sql(answer) == normalize_sql(str(reference)))


# ----------------------------------------------------------------------------- registry
JUDGES: dict[str, Judge] = {"exact": exact, "numeric": numeric, "choice": choice, "code": code,
                            "entities": entities, "sql": sql}


def judge_names() -> list[str]:
    """Valid judge specs, for error messages and CLI help."""
    return sorted(JUDGES) + ["llm:MODEL"]


def get_judge(spec: str, generate: Callable[[str], str] | None = None) -> Judge:
    """Resolve a judge spec: `exact`, `numeric`, `choice`, `code`, or `llm:MODEL`
    (with `generate`, a callable prompt → text for MODEL, supplied by the runtime)."""
    spec = spec.strip()
    if spec.startswith("llm:") and spec[4:].strip():
        return LLMJudge(spec[4:].strip(), generate)
    if spec not in JUDGES:
        raise CadreError(f"unknown judge {spec!r}; valid: {', '.join(judge_names())}")
    return JUDGES[spec]
