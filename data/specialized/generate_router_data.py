"""Write router_training.txt from the hand-written utterances plus a few templates.

    .venv/bin/python data/specialized/generate_router_data.py

Deterministic (fixed seed). Each intent gets its hand-written lines from
router_utterances/<intent>.txt (one per line; the labelling rules are in README.md),
topped up from multi-slot templates to TARGET lines; then a
seeded share of lines is lower-cased, given a typo, a polite wrapper or a longer
context prefix (the line is replaced, never copied, so no near-duplicates appear).
Any two questions must differ in at least two words and share under 75% of their
words; the script fails loudly otherwise.
"""
from __future__ import annotations

import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from router_templates import TEMPLATES  # noqa: E402

SEED = 20240611
TARGET = 250  # lines per intent
# The order matters: the seeded pass walks the intents in it.
INTENTS = ("chat", "image", "vision", "code", "math", "video", "audio", "search", "summarize", "translate")
UTTERANCES = HERE / "router_utterances"

POLITE_PREFIX = ["please ", "could you ", "can you please "]
QUESTION_SUFFIX = ["? thanks!", "? thank you", " pls", " - thanks in advance"]
COMMAND_SUFFIX = [", thanks!", " pls", " - thanks in advance", ", thank you"]
QUESTION = re.compile(r"^(what|what's|whats|how|why|who|where|when|which|is|are|can|do|does|should)\b", re.I)
CONTEXT = [
    "quick question while I'm waiting for my train to arrive:",
    "I'm helping my younger brother with something tonight and I'm a bit stuck, so",
    "ok so this is for a project I have to hand in on friday:",
    "sorry if this is a silly thing to ask, but",
    "my boss just sent me a message and I need this done before lunch:",
    "I've been trying to figure this out for an hour and I give up,",
    "not sure if you can do this, but",
]
IMPERATIVE = re.compile(r"^(write|make|create|generate|draw|paint|translate|summarize|summarise|find|look|search|"
                        r"read|transcribe|convert|compose|design|render|edit|add|turn|implement|explain|give|"
                        r"describe|check|identify|tell|trim|cut|merge|shorten|condense|calculate|solve)\b", re.I)


def words(text: str) -> list[str]:
    """Lower-cased word tokens, punctuation dropped."""
    return re.findall(r"[a-z0-9']+", text.lower())


def hand_lines(intent: str) -> list[str]:
    """The non-empty hand-written lines of one intent."""
    text = (UTTERANCES / f"{intent}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def template_lines(intent: str, rng: random.Random) -> list[str]:
    """Every slot combination of an intent's templates, shuffled."""
    combos = [pattern.format(a=a, b=b) for pattern, slot_a, slot_b in TEMPLATES[intent]
              for a in slot_a for b in slot_b]
    rng.shuffle(combos)
    return combos


def typo(text: str, rng: random.Random) -> str:
    """Swap two inner letters of one longer word (a realistic slip of the keyboard)."""
    tokens = text.split(" ")
    spots = [i for i, t in enumerate(tokens) if t.isalpha() and len(t) >= 5]
    if not spots:
        return text
    i = rng.choice(spots)
    w = tokens[i]
    j = rng.randrange(1, len(w) - 2)
    tokens[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(tokens)


def vary(text: str, rng: random.Random) -> str:
    """Apply at most one seeded surface change: lower-case, typo, politeness or context."""
    roll = rng.random()
    if roll < 0.14:
        return text.lower().rstrip("?.!")
    if roll < 0.22:
        return typo(text, rng)
    if roll < 0.30:
        if IMPERATIVE.match(text):
            return rng.choice(POLITE_PREFIX) + text[0].lower() + text[1:]
        ends = QUESTION_SUFFIX if QUESTION.match(text) or text.endswith("?") else COMMAND_SUFFIX
        return text.rstrip("?.!") + rng.choice(ends)
    if roll < 0.36 and len(words(text)) <= 12:
        return rng.choice(CONTEXT) + " " + text[0].lower() + text[1:]
    return text


def too_close(a: list[str], b: list[str]) -> bool:
    """True when two questions differ in under two words or share 75% of their words."""
    sa, sb = set(a), set(b)
    jaccard = len(sa & sb) / max(1, len(sa | sb))
    return jaccard >= 0.75 or word_distance(a, b) < 2


def word_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance counted in words."""
    prev = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        cur = [i]
        for j, wb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (wa != wb)))
        prev = cur
    return prev[-1]


def build(rng: random.Random) -> list[tuple[str, str]]:
    """All (question, intent) pairs, topped up to TARGET per intent, shuffled."""
    pairs: list[tuple[str, str]] = []
    clashes: list[str] = []
    kept: list[list[str]] = []
    for intent in INTENTS:
        count, hand = 0, hand_lines(intent)
        for line in hand + template_lines(intent, rng):
            if count == TARGET:
                break
            text = vary(line, rng)
            toks = words(line)  # compare content, not the shared wrappers
            clash = next((k for k in kept if too_close(k, toks)), None)
            if clash is not None:
                if line in hand:
                    clashes.append(f"{text!r} ~ {' '.join(clash)!r}")
                continue  # a template combination too close to an earlier line: skip it
            pairs.append((text, intent))
            kept.append(toks)
            count += 1
        if count < TARGET:
            clashes.append(f"{intent}: only {count} lines")
    if clashes:
        raise SystemExit("near-duplicate hand-written lines:\n" + "\n".join(clashes))
    rng.shuffle(pairs)
    return pairs


def main() -> None:
    """Generate and write router_training.txt next to this script."""
    rng = random.Random(SEED)
    pairs = build(rng)
    body = "\n\n".join(f"Q: {q}\nA: [E:tool]{intent}" for q, intent in pairs) + "\n"
    (HERE / "router_training.txt").write_text(body, encoding="utf-8")
    print(f"wrote {len(pairs)} pairs to {HERE / 'router_training.txt'}")


if __name__ == "__main__":
    main()
