"""The math worker process: `python -m cadre.runtime.math_worker` (started by
`cadre.runtime.math_sandbox`). One JSON problem per stdin line in, one JSON answer per
stdout line out: {"text": ...} or {"error": ...}.

It limits its own address space and CPU time before importing sympy. It ends when its
stdin closes (the server went away); if the server dies mid-problem, the CPU limit ends
the computation. A worker that has used half its CPU allowance retires after answering
(the pool starts a fresh one), so the limit never falls on an innocent problem.
"""
from __future__ import annotations

import json
import os
import sys

CPU_LIMIT_S = 120  # a backstop: the parent kills a worker after its per-problem time limit


def _limit_self() -> None:
    import resource

    memory = int(os.environ.get("CADRE_MATH_MEMORY_LIMIT", str(1 << 30)))
    for kind, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, CPU_LIMIT_S)):
        try:
            soft, hard = resource.getrlimit(kind)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (cap, hard))
        except (ValueError, OSError):
            pass


def _answer(problem) -> dict:
    from cadre.errors import CadreError
    from cadre.runtime.mathsolve import solve_math

    try:
        return {"text": solve_math(problem).text}
    except CadreError as exc:
        return {"error": str(exc)}
    except MemoryError:
        return {"error": "the math problem needs more memory than the math tool may use", "costly": True}
    except ValueError as exc:
        if "digits" in str(exc):  # Python's int→str limit: an answer too long to print
            return {"error": "the answer has too many digits to print", "costly": True}
        return {"error": "sympy cannot solve this problem"}
    except Exception:  # sympy raises many types on odd input; the details stay here
        return {"error": "sympy cannot solve this problem"}


def main() -> None:
    _limit_self()
    import sympy  # noqa: F401  (imported before "ready", so the time limit is the problem's)

    from cadre.runtime import mathsolve  # noqa: F401

    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        try:
            problem = json.loads(line)["problem"]
        except (ValueError, KeyError, TypeError):
            answer = {"error": "bad request to the math worker"}
        else:
            answer = _answer(problem)
        out.write(json.dumps(answer) + "\n")
        out.flush()
        if _cpu_seconds() > CPU_LIMIT_S / 2:
            return


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
