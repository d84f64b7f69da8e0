"""The keyword rules against a real `cadre serve`: 1 MB of text built to make each bundled
rule backtrack routes in under 50 ms, while `/health` keeps answering in under 100 ms.

The project here has no `router.model`, so the keyword rules are its router (as for every
such project); its primary is the tiny nano checkpoint, so a chat's answer is quick.
With Python's `re`, 20,000 digits took 53 s and blocked the event loop throughout.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time

import httpx
import pytest

from cadre.routing.intent.keyword import DEFAULT_RULES
from cadre.routing.routes import read_routes_yaml
from tests.security.conftest import Served

PLAIN = re.compile(r"^[\w' -]+$")  # a plain word or phrase, as the keyword router reads one
MB = 1_000_000
ROUTE_MS = 50
HEALTH_S = 0.100

# For each bundled regular expression, a unit that nearly matches it: repeated to 1 MB, it
# is what a backtracking engine takes quadratic time (or worse) on.
NEAR_MISSES = {
    r"how (do|would|to|can) (i |you |we )?say": "how do i ",
    r"\b(in|into|to) (english|french|spanish|german|italian|portuguese|russian|japanese|chinese|"
    r"mandarin|korean|arabic|hindi|dutch|polish|greek|turkish|swedish|norwegian|hebrew|hungarian|"
    r"romanian|formal \w+)\b": "into formal ",
    r"\b(english|french|spanish|german|italian|japanese|chinese|korean) to \w+": "english to ",
    "meaning of (the word )?['\"]": "meaning of the word ",
    "what does ['\"].+['\"] mean": "what does '",
    "(french|spanish|german|italian|japanese|english) word for": "french word ",
    "tl;dr": "tl;",
    "in (a few|two|three) sentences": "in a few ",
    r"\b(this|the|my|attached|uploaded) (image|picture|photo|pic|screenshot|scan|pohto)s?\b": "the images",
    "(image|photo|picture)s? (attached|i (uploaded|sent|attached))": "images i ",
    "describe (the|this) scene": "describe the ",
    "identify (this|the) (plant|bird|animal|object|insect)": "identify the ",
    "design an? ": "design a",
    "(generate|create|make|render) an? (image|picture|pic|photo|illustration|landscape)": "render an ",
    "an? (image|picture|pic) of": "a picture ",
    "read .+ (aloud|out loud)": "read out ",
    "(to|into) speech": "into ",
    "sounds?": "sound",
    r"\bgo (code|function)": "go ",
    r"c\+\+": "c+",
    r"(how are you|how have you been|how's your day|i feel|i'm feeling)\b.*\btoday": "i feel toda ",
    "c#": "c",
    "unit tests?": "unit ",
    r"\d+(\.\d+)?\s*[-+*/x×÷^%]\s*\d+": "1",
    r"\d+\s*(times|plus|minus|over)\s*\d": "1 ",
    r"how many \w+ (are )?in": "how many apples are ",
    "how much (is|are|do|does|would)": "how much ",
    r"add \d+": "add ",
    r"find (me )?(a|an|the)? ?\w*": "find me ",
    r"^(hi|hello|hey|yo|good (morning|evening|night))\b": "good ",
}


@pytest.fixture(scope="module")
def keyword_served(tmp_path_factory, tiny_causal_dir):
    """`cadre serve` for a project whose router is the bundled keyword rules."""
    root = tmp_path_factory.mktemp("keyword_dos")
    (root / "allowed").mkdir()
    config = root / "cadre.yaml"
    config.write_text(f"""\
version: 1
runtime: {{memory_budget: 2GB}}
models:
  - {{name: tiny, path: "{tiny_causal_dir}", capabilities: [primary_chat], max_context: 256, pinned: true}}
""")
    server = Served(root, config)
    yield server
    server.stop()


def _bundled_patterns() -> list[str]:
    routes, _ = read_routes_yaml(DEFAULT_RULES)
    return [p for r in routes for p in r.patterns]


def adversarial_texts() -> dict[str, str]:
    """1 MB of digits, each bundled regex's near miss repeated to 1 MB, and the plain
    words' near misses (each word without its last letter)."""
    texts = {"digits": "7" * MB}
    for pattern, unit in NEAR_MISSES.items():
        texts[pattern] = (unit * (MB // len(unit) + 1))[:MB]
    words = " ".join(p[:-1] for p in _bundled_patterns() if PLAIN.match(p) and len(p) > 2) + " "
    texts["plain words"] = (words * (MB // len(words) + 1))[:MB]
    return texts


def test_every_bundled_regex_has_a_worst_case_here():
    """A new regex rule in keyword_routes.yaml needs its near miss in NEAR_MISSES."""
    regexes = [p for p in _bundled_patterns() if not PLAIN.match(p)]
    assert sorted(set(regexes) - set(NEAR_MISSES)) == []


class HealthPoller:
    """Polls /health back to back in a thread; records the slowest answer, overall and
    since the last `lap()`."""

    def __init__(self, base: str):
        self.base, self.worst, self.lap_worst, self.count, self.failures = base, 0.0, 0.0, 0, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    if client.get(self.base + "/health").status_code != 200:
                        self.failures.append("non-200")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                took = time.perf_counter() - started
                self.worst, self.lap_worst = max(self.worst, took), max(self.lap_worst, took)
                self.count += 1
                self.stop.wait(0.01)

    def lap(self) -> float:
        """The slowest answer since the last lap (a poll in flight counts when it ends)."""
        time.sleep(0.05)  # let a poll that overlapped the request finish
        worst, self.lap_worst = self.lap_worst, 0.0
        return worst

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(40)


def _post(client: httpx.Client, url: str, body: dict) -> httpx.Response:
    return client.post(url, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def _route_once(client: httpx.Client, base: str, text: str, poller: HealthPoller) -> tuple[float, float]:
    """(routing overhead in ms, the slowest /health meanwhile in s) for one text."""
    poller.lap()
    response = _post(client, base + "/v1/route", {"input": text})
    assert response.status_code == 200, response.text[:300]
    assert "keyword" in response.json()["reason"], response.json()["reason"]
    return float(response.headers["x-cadre-overhead-ms"]), poller.lap()


def _within(overhead: float, health: float, baseline: tuple[float, float] | None) -> bool:
    """Under 50 ms and 100 ms; on a machine busier than its cores (baseline given), no
    slower than twice an ordinary 1 MB text measured just before, and never over 500 ms
    and 1 s. The backtracking engine took seconds to hours; an ordinary 1 MB text pays
    the same body reading and parsing as an adversarial one, so the ratio is about the
    rules alone."""
    if overhead < ROUTE_MS and health < HEALTH_S:
        return True
    if baseline is None:
        return False
    return overhead < min(500.0, max(ROUTE_MS, 2 * baseline[0])) and \
        health < min(1.0, max(HEALTH_S, 2 * baseline[1]))


def test_adversarial_megabytes_route_fast_while_health_answers(keyword_served):
    """Each text must route in under 50 ms while /health answers in under 100 ms. A text
    that misses gets two more tries; on a machine busier than its cores (a shared CI box)
    the last try is held to an ordinary 1 MB text's time instead (see `_within`)."""
    texts = adversarial_texts()
    ordinary = ("hello there " * (MB // 12 + 1))[:MB]
    poller = HealthPoller(keyword_served.base)
    missed, raw_route, raw_health = {}, 0.0, 0.0
    try:
        with httpx.Client(timeout=20) as client:
            _post(client, keyword_served.base + "/v1/route", {"input": "warm up"})
            for name, text in texts.items():
                for attempt in range(3):
                    baseline = None
                    if attempt == 2 and os.getloadavg()[0] > (os.cpu_count() or 1):
                        baseline = _route_once(client, keyword_served.base, ordinary, poller)
                    overhead, health = _route_once(client, keyword_served.base, text, poller)
                    raw_route, raw_health = max(raw_route, overhead), max(raw_health, health)
                    if _within(overhead, health, baseline):
                        missed.pop(name, None)
                        break
                    missed[name] = (overhead, round(health * 1000, 1), baseline)
    finally:
        poller.finish()
    print(f"\n{len(texts)} texts of 1 MB: worst route overhead {raw_route:.1f} ms; /health worst "
          f"{raw_health * 1000:.1f} ms over {poller.count} polls; load average {os.getloadavg()[0]:.2f}")
    assert not poller.failures and poller.count >= 10, poller.failures
    assert missed == {}, f"(route ms, /health ms, ordinary text's) past {ROUTE_MS} / {HEALTH_S * 1000:.0f} ms: {missed}"


@pytest.mark.parametrize("text, route", [
    ("7" * MB, "chat"),
    # the vision route looks for an image path in the text; a regex that backtracks took 2.7 s on 20,000 letters
    ("describe this image " + "a" * MB, "describe_image"),
])
def test_a_megabyte_chat_is_routed_fast(keyword_served, text, route):
    """The chat path: the decision (x-cadre-route) comes from the keyword rules, and the
    server's own time (x-cadre-overhead-ms: all but the model's generation) stays under
    50 ms while /health answers (tries and a busy machine as in `_within`)."""
    poller = HealthPoller(keyword_served.base)
    tries = []

    def chat(client, content) -> tuple[float, float]:
        poller.lap()
        started = time.perf_counter()
        response = _post(client, keyword_served.base + "/v1/chat/completions",
                         {"model": "auto", "max_tokens": 1, "messages": [{"role": "user", "content": content}]})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text[:300]
        assert elapsed < 10, f"a 1 MB chat took {elapsed:.1f} s"
        assert "keyword" in response.headers["x-cadre-route"], response.headers["x-cadre-route"]
        if content is text:
            assert route in response.headers["x-cadre-route"], response.headers["x-cadre-route"]
        return float(response.headers["x-cadre-overhead-ms"]), poller.lap()

    try:
        with httpx.Client(timeout=60) as client:
            chat(client, "hello")  # loads the model
            for attempt in range(3):
                baseline = None
                if attempt == 2 and os.getloadavg()[0] > (os.cpu_count() or 1):
                    baseline = chat(client, ("hello there " * (MB // 12 + 1))[:MB])
                tries.append((*chat(client, text), baseline))
                if _within(*tries[-1]):
                    break
    finally:
        poller.finish()
    print(f"\n1 MB chat to {route}: (overhead ms, /health worst s, ordinary text's) per try {tries}; "
          f"load average {os.getloadavg()[0]:.2f}")
    assert not poller.failures
    assert _within(*tries[-1]), tries


@pytest.mark.parametrize("pattern, why", [
    (r"(a)\1", "invalid escape"), (r"(?=x)y", "invalid perl operator"), (r"x{1001}", "invalid repetition"),
    (r"\w{900}x", "too large"),
])
def test_rules_the_linear_engine_cannot_run_are_refused_at_load(tmp_path, pattern, why):
    """A user's routes YAML with such a rule: one-line error from `cadre router train --kind keyword`."""
    import subprocess
    import sys

    rules = tmp_path / "rules.yaml"
    rules.write_text(f"routes:\n  - name: a\n    patterns: ['{pattern}']\n  - name: b\n    patterns: [b]\n")
    done = subprocess.run([sys.executable, "-m", "cadre.cli.main", "router", "train", "--kind", "keyword",
                           "--rules", str(rules), "--output", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and why in lines[0], done.stderr
    assert str(rules) in lines[0] and "route 'a'" in lines[0]
    assert not (tmp_path / "out").exists()
