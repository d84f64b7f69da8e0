"""A routing reason never carries request text: against a real `cadre serve` with
`log_prompts: false` (the default), prompts holding a card number and made-up words go
through the paths whose reasons used to quote them (the math tool's parse errors and its
unknown-word list, vision features given as text). Neither may appear in the
`x-cadre-route` header, the decision log, /v1/route, or any /v1/dashboard view.

The security project routes `chat` to the math tool, so every prompt below reaches sympy.
"""
from __future__ import annotations

import httpx
import pytest

CARD = "4111111111111111"
SPACED_CARD = "4111 1111 1111 1111"
WORDS = ("zorblaxian", "quuxplenty")
PROMPTS = [
    f"tell me about {SPACED_CARD} ((",                       # sympy cannot parse it
    f"tell me about {CARD} plus {WORDS[0]} and {WORDS[1]}",  # unknown words
    f"calculate {CARD} = {WORDS[0]} ]",                      # not readable, with an equation
    f"[E:vision] {CARD} {WORDS[1]}",                         # features given as text
]
SECRETS = (CARD, SPACED_CARD, "1111 1111", *WORDS)
DASHBOARD = ("/v1/dashboard/traffic", "/v1/dashboard/models", "/v1/dashboard/routers",
             "/v1/dashboard/specialists")


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.fixture(scope="module")
def answered(served):
    """Each prompt sent once as a chat; the responses."""
    out = []
    for prompt in PROMPTS:
        response = httpx.post(served.base + "/v1/chat/completions", timeout=120,
                              json={"model": "auto", "max_tokens": 1,
                                    "messages": [{"role": "user", "content": prompt}]})
        assert response.status_code == 200, response.text[:500]
        out.append(response)
    return out


def test_the_route_header_carries_no_request_text(answered):
    headers = [r.headers["x-cadre-route"] for r in answered]
    assert any("solve_math" in h for h in headers), headers  # the math tool's path was taken
    assert [h for h in headers if _leaks(h)] == []


def test_the_decision_log_carries_no_request_text(served, answered):
    log = served.root / "runs" / "gateway" / "decisions.jsonl"
    text = log.read_text(encoding="utf-8")
    assert '"reason"' in text and "solve_math" in text
    assert _leaks(text) == [], [line for line in text.splitlines() if _leaks(line)][:2]


def test_the_dashboard_carries_no_request_text(served, answered):
    for path in DASHBOARD:
        response = httpx.get(served.base + path, timeout=30)
        assert response.status_code == 200, (path, response.text[:300])
        assert _leaks(response.text) == [], path
    assert "solve_math" in httpx.get(served.base + "/v1/dashboard/traffic", timeout=30).text


def test_route_reasons_carry_no_request_text(served):
    for prompt in PROMPTS:
        response = httpx.post(served.base + "/v1/route", json={"input": prompt}, timeout=30)
        assert response.status_code == 200
        assert _leaks(response.text) == [], response.json()["reason"]
