"""`solve_math`: arithmetic, equations, derivatives, integrals, limits and algebra through
sympy, so the answers are right rather than generated.

The problem text is normalised ("12 times 7", "x^2", "square root of 2"), checked against
a whitelist of characters and function names (sympy's parser evaluates Python, so
nothing else gets through), then parsed and solved exactly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from cadre.runtime.errors import ToolError

MAX_CHARS = 300
FUNCTIONS = ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "log", "ln", "exp",
             "sqrt", "abs", "factorial", "pi", "oo", "gcd", "lcm", "floor", "ceiling")
_WORDS = [  # spoken operators → symbols, longest first
    (r"\bmultiplied by\b", "*"), (r"\bdivided by\b", "/"), (r"\bto the power of\b", "**"),
    (r"\bsquare root of\b", "sqrt "), (r"\bcube root of\b", "cbrt "), (r"\bsquared\b", "**2"),
    (r"\bcubed\b", "**3"), (r"\bplus\b", "+"), (r"\bminus\b", "-"), (r"\btimes\b", "*"),
    (r"\bover\b", "/"), (r"\bmod(ulo)?\b", "%"), (r"(\d)\s*%\s*of\b", r"\1/100*"), (r"\bpercent of\b", "/100*"),
    (r"×", "*"), (r"÷", "/"), (r"−", "-"), (r"\^", "**"),
]
_LEAD = re.compile(r"^(please\s+)?(what\s+is|what's|whats|calculate|compute|evaluate|find|work\s+out|"
                   r"how\s+much\s+is|tell\s+me|solve|simplify|factor|factorise|factorize|expand)\b[:\s]*",
                   re.IGNORECASE)
_SAFE = re.compile(r"^[0-9a-z\s+\-*/().,=!%<>]*$")


@dataclass
class MathAnswer:
    """A solved problem: the readable answer, the kind of problem and the sympy result."""

    text: str
    kind: str
    expression: str
    value: object


def solve_math(problem: str) -> MathAnswer:
    """Solve a problem given in words or symbols; ToolError when it is not one sympy can read."""
    text = _normalise(problem)
    for kind, pattern in _KINDS:
        match = pattern.search(text)
        if match:
            return _SOLVERS[kind](match)
    if "=" in text:
        return _equation(text, None)
    return _evaluate(_parse(_LEAD.sub("", text), evaluate=False))


def _normalise(problem: str) -> str:
    if not isinstance(problem, str) or not problem.strip():
        raise ToolError("solve_math needs a problem, got nothing")
    text = problem.strip().lower().rstrip("?.!")
    if len(text) > MAX_CHARS:
        raise ToolError(f"math problem too long ({len(text)} characters, at most {MAX_CHARS})")
    for pattern, repl in _WORDS:
        text = re.sub(pattern, repl, text)
    return re.sub(r"\s+", " ", text).strip()


def _parse(source: str, evaluate: bool = True):
    """Parse an expression after the whitelist check (sympy's parser evaluates Python)."""
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    source = source.strip().strip(",")
    if not source or not _SAFE.match(source):
        raise ToolError("not a math expression sympy can read")
    words = set(re.findall(r"[a-z]{2,}", source)) - set(FUNCTIONS) - {"cbrt"}
    if words:
        raise ToolError(f"not a math expression ({len(words)} unknown word(s))")
    names = {f: getattr(sympy, f) for f in FUNCTIONS if hasattr(sympy, f)}
    names.update(ln=sympy.log, abs=sympy.Abs, cbrt=sympy.cbrt, e=sympy.E)
    names.update({c: sympy.Symbol(c) for c in "abcdfghijklmnopqrstuvwxyz" if c not in names})
    transformations = standard_transformations + (implicit_multiplication_application, convert_xor)
    try:
        return parse_expr(source, local_dict=names, transformations=transformations, evaluate=evaluate)
    except Exception as exc:  # sympy raises many types (SyntaxError, TokenError, TypeError)
        raise ToolError(f"sympy cannot parse it as math ({type(exc).__name__})") from None


def _fmt(value) -> str:
    """Exact form, plus a decimal when the exact one is not a plain number."""
    import sympy

    if isinstance(value, sympy.Float):
        return str(int(value)) if value == int(value) else f"{float(value):.10g}"
    exact = sympy.sstr(value)
    if getattr(value, "is_number", False) and not value.is_Integer and value.is_finite:
        decimal = sympy.N(value, 10)
        if sympy.sstr(decimal) != exact:
            return f"{exact} ≈ {float(decimal):.6g}"
    return exact


def _evaluate(expr) -> MathAnswer:
    import sympy

    value = sympy.simplify(expr.doit())
    if value.free_symbols:
        return MathAnswer(f"{sympy.sstr(expr)} = {_fmt(value)}", "simplify", sympy.sstr(expr), value)
    return MathAnswer(f"{sympy.sstr(expr)} = {_fmt(value)}", "arithmetic", sympy.sstr(expr), value)


def _equation(text: str, target: str | None) -> MathAnswer:
    import sympy

    text = _LEAD.sub("", text)
    parts = [p for p in re.split(r",|\band\b", text) if "=" in p]
    if not parts:
        raise ToolError("no equation to solve")
    eqs = []
    for part in parts:
        left, _, right = part.partition("=")
        eqs.append(sympy.Eq(_parse(left), _parse(right.lstrip("="))))
    free = sorted(set().union(*(e.free_symbols for e in eqs)), key=str)
    unknowns = [sympy.Symbol(target)] if target else free
    if not unknowns:
        truth = all(bool(e) for e in eqs)
        return MathAnswer(f"{'true' if truth else 'false'}", "check", text, truth)
    solutions = sympy.solve(eqs if len(eqs) > 1 else eqs[0], unknowns, dict=True)
    if not solutions:
        return MathAnswer("no solution", "equation", text, [])
    rendered = ["; ".join(f"{k} = {_fmt(v)}" for k, v in sol.items()) for sol in solutions]
    return MathAnswer(" or ".join(rendered), "equation", text, solutions)


def _derivative(m) -> MathAnswer:
    import sympy

    expr, var = _parse(m.group("expr")), sympy.Symbol(m.group("var") or _guess_var(m.group("expr")))
    value = sympy.diff(expr, var)
    return MathAnswer(f"d/d{var} {sympy.sstr(expr)} = {_fmt(sympy.simplify(value))}", "derivative", sympy.sstr(expr), value)


def _integral(m) -> MathAnswer:
    import sympy

    expr, var = _parse(m.group("expr")), sympy.Symbol(m.group("var") or _guess_var(m.group("expr")))
    if m.group("lo") is not None:
        lo, hi = _parse(m.group("lo")), _parse(m.group("hi"))
        value = sympy.integrate(expr, (var, lo, hi))
        return MathAnswer(f"∫ {sympy.sstr(expr)} d{var} from {lo} to {hi} = {_fmt(value)}", "integral",
                          sympy.sstr(expr), value)
    value = sympy.integrate(expr, var)
    return MathAnswer(f"∫ {sympy.sstr(expr)} d{var} = {_fmt(value)} + C", "integral", sympy.sstr(expr), value)


def _limit(m) -> MathAnswer:
    import sympy

    expr, var, point = _parse(m.group("expr")), sympy.Symbol(m.group("var")), _parse(m.group("to"))
    value = sympy.limit(expr, var, point)
    return MathAnswer(f"lim {var}→{point} {sympy.sstr(expr)} = {_fmt(value)}", "limit", sympy.sstr(expr), value)


def _algebra(m) -> MathAnswer:
    import sympy

    op, expr = m.group("op"), _parse(m.group("expr"))
    fn = {"simplify": sympy.simplify, "factor": sympy.factor, "factorise": sympy.factor,
          "factorize": sympy.factor, "expand": sympy.expand}[op]
    value = fn(expr)
    return MathAnswer(f"{op} {sympy.sstr(expr)} = {_fmt(value)}", op, sympy.sstr(expr), value)


def _solve_for(m) -> MathAnswer:
    return _equation(m.group("eq"), m.group("var"))


def _guess_var(source: str) -> str:
    letters = sorted(set(re.findall(r"(?<![a-z])[a-z](?![a-z])", source)))
    return "x" if not letters or "x" in letters else letters[0]


_VAR = r"(?:\s*(?:with respect to|wrt|d)\s*(?P<var>[a-z]))?"
_KINDS = [
    ("derivative", re.compile(r"(?:derivative of|differentiate)\s+(?P<expr>.+?)" + _VAR + r"\s*$")),
    ("integral", re.compile(r"(?:integral of|integrate)\s+(?P<expr>.+?)" + _VAR
                            + r"(?:\s*from\s+(?P<lo>\S+)\s+to\s+(?P<hi>\S+))?\s*$")),
    ("limit", re.compile(r"limit of\s+(?P<expr>.+?)\s+as\s+(?P<var>[a-z])\s*(?:->|→|approaches|goes to|tends to)"
                         r"\s*(?P<to>.+?)\s*$")),
    ("solve_for", re.compile(r"solve\s+(?P<eq>.+=.+?)\s+for\s+(?P<var>[a-z])\s*$")),
    ("algebra", re.compile(r"^(?:please\s+)?(?P<op>simplify|factorise|factorize|factor|expand)\s+(?P<expr>.+)$")),
]
_SOLVERS = {"derivative": _derivative, "integral": _integral, "limit": _limit, "solve_for": _solve_for,
            "algebra": _algebra}
