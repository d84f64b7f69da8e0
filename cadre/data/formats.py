"""Readers for the raw formats of public NLP datasets that are not tables: CoNLL-style
token-per-line NER files (WNUT-17, CoNLL-2003) and TREC's question-classification lines.
Each returns rows (dicts) that the specialist data pipeline treats like CSV rows.
"""
from __future__ import annotations

ENTITY_NAMES = {"PER": "person", "LOC": "location", "ORG": "organization", "MISC": "misc"}
NO_ENTITIES = "none"


def read_trec(text: str) -> list[dict]:
    """TREC QC lines `COARSE:fine question ...` → {label, fine, text}."""
    rows = []
    for line in text.splitlines():
        head, _, question = line.strip().partition(" ")
        coarse, _, fine = head.partition(":")
        if coarse and question:
            rows.append({"label": coarse, "fine": f"{coarse}:{fine}", "text": question})
    return rows


def read_conll(text: str) -> list[dict]:
    """Token-per-line NER (token first, tag last; blank lines between sentences;
    -DOCSTART- lines skipped) → {text, entities}, where `entities` lists each entity as
    `type: words` joined by " | ", or "none" for a sentence without one."""
    rows, tokens, tags = [], [], []
    for line in text.splitlines() + [""]:
        parts = line.split("\t") if "\t" in line else line.split()
        if not parts or not line.strip():
            if tokens:
                rows.append({"text": " ".join(tokens), "entities": render_entities(spans(tokens, tags))})
            tokens, tags = [], []
        elif parts[0] != "-DOCSTART-":
            tokens.append(parts[0])
            tags.append(parts[-1] if len(parts) > 1 else "O")
    return rows


def spans(tokens: list[str], tags: list[str]) -> list[tuple[str, str]]:
    """(type, words) of each entity; IOB1 and IOB2 alike: an entity starts at B-, or at
    I- after O or after another type."""
    out, current, kind = [], [], None
    for token, tag in zip(tokens, tags):
        prefix, _, label = tag.partition("-")
        if prefix == "I" and kind == label:
            current.append(token)
            continue
        if current:
            out.append((kind, " ".join(current)))
        current, kind = ([token], label) if prefix in ("B", "I") else ([], None)
    if current:
        out.append((kind, " ".join(current)))
    return [(ENTITY_NAMES.get(k, k.lower()), words) for k, words in out]


def render_entities(items: list[tuple[str, str]]) -> str:
    """The response text of an NER example: `type: words | type: words`, or `none`."""
    return " | ".join(f"{kind}: {words}" for kind, words in items) or NO_ENTITIES


def parse_entities(text: str) -> set[tuple[str, str]]:
    """The (type, words) set an NER answer names (lower-cased, spaces collapsed); the
    first line only, since a model may run on."""
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    items = set()
    for part in first.split("|"):
        kind, sep, words = part.partition(":")
        if sep and words.strip():
            items.add((" ".join(kind.lower().split()), " ".join(words.lower().split())))
    return items
