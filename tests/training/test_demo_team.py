"""The demo's team requests: each is written in its specialist's own prompt template (so
the router, trained on those prompts, sends it there) and each check tells the right label
from a wrong one."""
import re

import pytest

from cadre import demo_checks as checks
from cadre.training.lora.catalog import load_specialist


@pytest.mark.parametrize("name", sorted(checks.TEAM_REQUESTS))
def test_each_team_request_is_written_in_its_specialists_prompt(name):
    template = load_specialist(name).prompt.template
    pattern = "^" + ".*".join(re.escape(part) for part in re.split(r"\{\w+\}", template)) + "$"
    request, _ = checks.TEAM_REQUESTS[name]
    assert re.match(pattern, request, re.DOTALL), (name, request)


def test_the_label_checks_tell_right_from_wrong():
    assert checks.check_spam("spam")[0] and not checks.check_spam("ham")[0]
