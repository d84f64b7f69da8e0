"""The Q/A text format of training files, parsed exactly.

    Q: draw me a picture of a dog
    A: [E:tool]image

Blocks are separated by blank lines. Answers may span lines and contain code fences
(blank lines inside a fence belong to the answer). `Q: [E:vision] cat, couch` is a
vision example and `Q: [TASK:code] ...` a multi-task one. Errors name file and line.
"""
from __future__ import annotations

import re
from pathlib import Path

from cadre.data.examples import Example, read_text_file
from cadre.errors import CadreError

TOOL_MARK = "[E:tool]"
VISION_MARK = "[E:vision]"
_TASK = re.compile(r"^\[TASK:([^\]]+)\]\s*")


def parse_qa(text: str, name: str = "<text>") -> list[Example]:
    """Parse Q/A text into examples; raise CadreError with name:line on malformed input."""
    pairs: list[tuple[int, list[str], list[str]]] = []  # (line, question lines, answer lines)
    field, in_fence = None, False
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```") and field == "A":
            in_fence = not in_fence
        if in_fence and field == "A":
            pairs[-1][2].append(line)
            continue
        if line.startswith("Q:"):
            if field == "Q":
                raise CadreError(f"{name}:{pairs[-1][0]}: Q: without an A:")
            pairs.append((lineno, [line[2:].strip()], []))
            field = "Q"
        elif line.startswith("A:"):
            if field != "Q":
                raise CadreError(f"{name}:{lineno}: A: without a Q:")
            pairs[-1][2].append(line[2:].strip())
            field = "A"
        elif field is not None:
            pairs[-1][1 if field == "Q" else 2].append(line)
        elif stripped:
            raise CadreError(f"{name}:{lineno}: expected 'Q:' to start a pair, got {stripped[:40]!r}")
    if field == "Q":
        raise CadreError(f"{name}:{pairs[-1][0]}: Q: without an A:")
    return [_example(name, line, q, a) for line, q, a in pairs]


def _example(name: str, line: int, q_lines: list[str], a_lines: list[str]) -> Example:
    question = "\n".join(q_lines).strip()
    answer = "\n".join(a_lines).strip()
    ex = Example(question=question, answer=answer, source=f"{name}:{line}")
    match = _TASK.match(ex.question)
    if match:
        ex.task, ex.question = match.group(1).strip(), ex.question[match.end():]
    if ex.answer.startswith(TOOL_MARK):
        ex.label = ex.answer[len(TOOL_MARK):].strip()
        if not ex.label:
            raise CadreError(f"{ex.source}: empty intent after {TOOL_MARK}")
    if ex.question.startswith(VISION_MARK):
        ex.features = [f.strip() for f in ex.question[len(VISION_MARK):].split(",") if f.strip()]
    if not ex.question:
        raise CadreError(f"{ex.source}: empty question")
    return ex


def load_qa(path: str | Path) -> list[Example]:
    """Read and parse a Q/A text file; a file with no pairs is an error."""
    examples = parse_qa(read_text_file(path), str(path))
    if not examples:
        raise CadreError(f"{path}: no Q/A pairs found")
    return examples
