"""Where no sandbox works (no bubblewrap, or no user namespaces), the code judge refuses
to run code; these tests check judging, not isolation, so they allow its unsafe fallback
(tests/security/ checks the isolation and the refusal)."""
import pytest


@pytest.fixture(autouse=True, scope="session")
def _code_judge_fallback_without_a_sandbox():
    from cadre.evaluation import sandbox

    if sandbox.detect().kind == "none":
        sandbox.allow_unsafe()
