"""The bundled training data in data/specialized/ and the bundled photo in data/images/.

Standard library only: the files are parsed here with a small block reader (blank
lines separate Q/A pairs; blank lines inside ``` fences belong to the answer).
"""
from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "specialized"
INTENTS = {"chat", "image", "vision", "code", "math", "video", "audio", "search", "summarize", "translate"}
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def read_pairs(name: str) -> list[tuple[str, str]]:
    """(question, answer) pairs of one bundled file; fails on a block that is not Q then A."""
    blocks, current, in_fence = [], [], False
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(line)
    if current:
        blocks.append(current)
    pairs = []
    for block in blocks:
        assert block[0].startswith("Q: "), f"{name}: block does not start with 'Q: ': {block[0]!r}"
        a_at = next(i for i, line in enumerate(block) if line.startswith("A:"))
        question = "\n".join(block[:a_at])[3:].strip()
        answer = "\n".join([block[a_at][2:].strip()] + block[a_at + 1:])
        pairs.append((question, answer))
    return pairs


@pytest.mark.parametrize("name, minimum", [("router_training.txt", 2500), ("vision_training.txt", 320),
                                           ("code_training.txt", 220), ("math_training.txt", 220)])
def test_each_file_has_enough_unique_pairs(name, minimum):
    pairs = read_pairs(name)
    assert len(pairs) >= minimum
    normalized = [re.sub(r"[^a-z0-9]+", " ", q.lower()).strip() for q, _ in pairs]
    duplicates = [q for q, n in Counter(normalized).items() if n > 1]
    assert not duplicates, duplicates[:5]


def test_router_labels_are_the_ten_intents_and_balanced():
    pairs = read_pairs("router_training.txt")
    labels = []
    for question, answer in pairs:
        match = re.fullmatch(r"\[E:tool\](\w+)", answer.strip())
        assert match, f"not a router answer: {answer!r} for {question!r}"
        labels.append(match.group(1))
    counts = Counter(labels)
    assert set(counts) == INTENTS
    assert len(labels) == 2500
    for intent, n in counts.items():
        assert n == 250, f"{intent} has {n} of {len(labels)} pairs, expected 250"


def test_router_questions_vary_in_length():
    lengths = [len(q.split()) for q, _ in read_pairs("router_training.txt")]
    assert min(lengths) >= 2 and max(lengths) <= 30
    assert sum(n <= 4 for n in lengths) >= 20 and sum(n >= 15 for n in lengths) >= 20


def test_router_file_is_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("generate_router_data", DATA / "generate_router_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pairs = module.build(module.random.Random(module.SEED))
    expected = "\n\n".join(f"Q: {q}\nA: [E:tool]{intent}" for q, intent in pairs) + "\n"
    assert (DATA / "router_training.txt").read_text(encoding="utf-8") == expected


def test_vision_questions_are_feature_lists():
    pairs = read_pairs("vision_training.txt")
    for question, answer in pairs:
        assert question.startswith("[E:vision] "), question
        features = [f.strip() for f in question[len("[E:vision] "):].split(",")]
        assert 2 <= len(features) <= 5 and all(features), question
        assert answer.strip() and "\n" not in answer.strip(), answer
    all_features = Counter(f.strip() for q, _ in pairs for f in q[len("[E:vision] "):].split(","))
    for needed in ("daisy", "pot", "bee", "palace", "monastery", "stupa", "tabby", "golden retriever"):
        assert all_features[needed] >= 2, needed


def test_code_python_fences_compile_and_languages_are_mixed():
    pairs = read_pairs("code_training.txt")
    languages = Counter()
    for question, answer in pairs:
        fences = FENCE.findall(answer)
        assert fences, f"no code fence for {question!r}"
        for lang, source in fences:
            languages[lang] += 1
            if lang == "python":
                compile(source, f"code_training.txt: {question}", "exec")
    assert languages["python"] / len(pairs) >= 0.6
    others = [n for lang, n in languages.items() if lang != "python"]
    assert sum(n >= 25 for n in others) >= 2, languages


def test_math_answers_end_with_a_number():
    for question, answer in read_pairs("math_training.txt"):
        last = answer.strip().splitlines()[-1]
        match = re.fullmatch(r"Answer: (-?\d+(?:\.\d+)?)", last)
        assert match, f"{question!r} ends with {last!r}"
        float(match.group(1))


def test_bundled_photo_is_a_small_jpeg_with_attribution():
    photo = ROOT / "data" / "images" / "flower.jpg"
    data = photo.read_bytes()
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert len(data) < 100_000
    attribution = (ROOT / "data" / "images" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "creativecommons.org/licenses/by/2.0" in attribution and "flower.jpg" in attribution
