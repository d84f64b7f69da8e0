"""Judges: answer extraction, and the code sandbox (pass, fail, timeout, no network)."""
import time

import pytest

from cadre.errors import CadreError
from cadre.evaluation import judges as j


@pytest.mark.parametrize("answer,ref,want", [
    ("She pays 3 * 4 = 12 dollars.\n#### 12", "#### 12", 1.0),
    ("Answer: $1,250.00", "1250", 1.0),
    ("first 3, then 5, so 7 apples", 7, 1.0),
    ("\\boxed{-2.5} and later 9", "-2.5", 1.0),
    ("#### 13", "#### 12", 0.0),
    ("no number here", "4", 0.0),
])
def test_numeric(answer, ref, want):
    assert j.numeric(answer, ref) == want


def test_extract_number_prefers_marked_answer():
    assert j.extract_number("We get 10 then 20.\n#### 15\nextra 99") == 15.0
    assert j.extract_number("The answer is 42. Check: 6*7") == 42.0


def test_exact_and_choice():
    assert j.exact("  Positive. ", "positive") == 1.0
    assert j.exact("negative", "positive") == 0.0
    assert j.choice("The answer is (C).", "C") == 1.0
    assert j.choice("B) because", "C") == 0.0
    opts = ["London", "Paris", "Rome"]
    assert j.choice("I think it is Paris", "B", options=opts) == 1.0
    assert j.choice("I think it is Paris", "Paris", options=opts) == 1.0
    assert j.choice("London or Paris", "B", options=opts) == 0.0  # ambiguous


def test_code_judge_passes_correct_and_fails_wrong():
    tests = ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]
    good = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```"
    assert j.code(good, tests) == 1.0
    assert j.code("def add(a, b):\n    return a - b", tests) == 0.0
    assert j.code("this is not python", tests) == 0.0
    mbpp = {"test_list": ["assert twice(4) == 8"], "test_setup_code": "import math"}
    assert j.code("def twice(x):\n    return int(math.fsum([x, x]))", mbpp) == 1.0


def test_code_judge_times_out_infinite_loop():
    start = time.monotonic()
    assert j.code("def f():\n    while True:\n        pass\nf()", "assert True", timeout=1.5) == 0.0
    assert time.monotonic() - start < 6
    rc, msg = j.run_python("while True: pass", timeout=1.0)
    assert rc != 0 and "timeout" in msg


def test_code_judge_blocks_network():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:  # a real listener on the host
        port = server.getsockname()[1]
        prog = ("import socket\n"
                f"s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n")
        rc, out = j.run_python(prog, timeout=5)
    assert rc != 0 and any(w in out.lower() for w in ("network", "unreachable", "refused"))
    # also the raw C-level socket, which only the network namespace stops
    raw = "import _socket\ns = _socket.socket()\ns.settimeout(2)\ns.connect(('1.1.1.1', 80))\nprint('connected')"
    rc, out = j.run_python(raw, timeout=5)
    if j.network_isolation():
        assert rc != 0 and "connected" not in out


def test_code_judge_limits_memory_and_cwd():
    rc, out = j.run_python("x = bytearray(3 * 1024 ** 3)", timeout=5, memory_mb=512)
    assert rc != 0 and "MemoryError" in out
    rc, out = j.run_python("import os; print(sorted(os.listdir('.')))", timeout=5)
    assert rc == 0 and out.strip() in ("[]", "['job', 'output']")  # a private tmp (bwrap) or the job folder


def test_llm_judge_and_registry():
    prompts = []

    def fake_generate(prompt):
        prompts.append(prompt)
        return "The answer matches. Score: 8"

    judge = j.get_judge("llm:gpt-4o", generate=fake_generate)
    assert judge("Paris", "Paris", question="Capital of France?") == pytest.approx(0.8)
    assert "Capital of France?" in prompts[0] and "Paris" in prompts[0]
    assert j.parse_llm_score("7/10") == pytest.approx(0.7)
    assert j.parse_llm_score("no idea") == 0.0
    with pytest.raises(CadreError, match="needs a generate"):
        j.get_judge("llm:x")("a", "b")
    assert j.get_judge("numeric") is j.numeric
    with pytest.raises(CadreError, match="valid: choice, code, entities, exact, numeric, sql, llm:MODEL"):
        j.get_judge("fuzzy")
