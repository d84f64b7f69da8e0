"""A team of LoRA specialists behind one router: the router's training rows are the
specialists' own prompts (each spec's prompt template filled from its data), so a request
written the way a specialist was trained goes to that specialist.

    rows = team_router_rows({"sql": sql_rows, "sentiment": review_rows}, chat=chat_texts)
    write_router_csv(rows, "runs/team/router.csv")    # then `cadre router train --data ...`
"""
from __future__ import annotations

import csv
import io
import random
from pathlib import Path

from cadre.data.specialist_data import fill, read_table
from cadre.training.lora.catalog import load_specialist

ROOT = Path(__file__).resolve().parents[3]
REVIEWS = ROOT / "data" / "specialists" / "reviews.jsonl"   # hand-written for cadre (no SST-2 in a clone)


def specialist_prompts(name: str, rows: list[dict], limit: int | None = None, seed: int = 0) -> list[str]:
    """The prompts specialist `name` was trained on, from raw data rows (its dataset's
    column names), in a seeded order."""
    spec = load_specialist(name)
    mapped = [{field: row.get(src) for field, src in spec.dataset.columns.items()} for row in rows]
    random.Random(seed).shuffle(mapped)
    return [fill(spec.prompt.template, row, f"{name}.prompt.template") for row in mapped[:limit]]


def bundled_rows(name: str) -> list[dict]:
    """Rows a clone has for the team's specialists: the bundled SQL slice, the hand-written
    reviews (SST-2 is not bundled)."""
    if name == "sql":
        return read_table(ROOT / "data" / "specialists" / "sql" / "all.jsonl")
    if name == "sentiment":
        return read_table(REVIEWS)
    raise ValueError(f"no bundled rows for {name!r}")


def team_router_rows(prompts: dict[str, list[str]], chat: list[str]) -> list[tuple[str, str]]:
    """(text, route) rows: each specialist's prompts under its name, plain chat as `chat`."""
    rows = [(text, name) for name, texts in prompts.items() for text in texts]
    return rows + [(text, "chat") for text in chat]


def write_router_csv(rows: list[tuple[str, str]], path: str | Path) -> Path:
    """The rows as `text,label` CSV (what `cadre router train --data` reads), atomically."""
    from cadre.fsutil import atomic_write_text

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    atomic_write_text(Path(path), buf.getvalue())
    return Path(path)


CHAT = ["Hi! How are you today?", "What is a good way to start learning to cook?",
        "Tell me a fun fact about octopuses.", "Can you suggest a name for my new cat?",
        "What should I pack for a weekend trip to the mountains?", "How do I politely decline a meeting?",
        "Give me three ideas for a birthday party.", "What's the difference between weather and climate?",
        "Recommend a good habit to sleep better.", "How can I stay motivated when studying?",
        "Write a short poem about the sea.", "What are some tips for a job interview?",
        "Explain what a black hole is in simple words.", "How do plants make food?",
        "What is the capital of Australia?", "Can you help me plan a vegetarian dinner?",
        "Why is the sky blue?", "How long should I boil an egg?", "What's a good book for a long flight?",
        "Say hello to my friend Sam.", "How do I make my houseplants grow better?",
        "What is a healthy breakfast?", "Tell me a joke about computers.", "How far away is the moon?"]


def write_router_qa(rows: list[tuple[str, str]], path: str | Path) -> Path:
    """The rows in the Q/A router format (`Q: text` / `A: [E:tool]route`, one line each:
    newlines in a prompt become spaces), which the nano router trains on."""
    from cadre.fsutil import atomic_write_text

    text = "".join(f"Q: {' '.join(t.split())}\nA: [E:tool]{label}\n\n" for t, label in rows)
    atomic_write_text(Path(path), text)
    return Path(path)


def demo_team_rows(names: tuple[str, ...], per_name: int = 120) -> list[tuple[str, str]]:
    """Router rows for the demo's LoRA specialists, from their bundled training data."""
    out = []
    for name in names:
        spec = load_specialist(name)
        path = ROOT / spec.dataset.path
        source = path / spec.dataset.files["train"] if path.is_dir() else path
        out += [(p, name) for p in specialist_prompts(name, read_table(source), per_name)]
    return out
