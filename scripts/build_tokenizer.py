#!/usr/bin/env python
"""Rebuild the default shared tokenizer shipped in cadre/assets/tokenizer.json.

It is trained on the bundled specialist data and the bundled intent datasets
(CLINC150 and Banking77, CC BY 4.0), in a fixed order, so the result is deterministic:

    .venv/bin/python scripts/build_tokenizer.py
"""
import csv
import json
from pathlib import Path

from cadre.data import load_examples
from cadre.presets import DEFAULT_VOCAB_SIZE
from cadre.tokenizer import DEFAULT_TOKENIZER, corpus_texts, save_tokenizer, train_tokenizer

ROOT = Path(__file__).resolve().parent.parent


def texts() -> list[str]:
    out = []
    for path in sorted((ROOT / "data" / "specialized").glob("*_training.txt")):
        out += corpus_texts(load_examples(path))
    with open(ROOT / "data" / "intents" / "banking77" / "train.csv", encoding="utf-8") as f:
        out += [row["text"] for row in csv.DictReader(f)]
    clinc = json.loads((ROOT / "data" / "intents" / "clinc150" / "data_full.json").read_text())
    out += [text for split in ("train", "oos_train") for text, _ in clinc[split]]
    return out


if __name__ == "__main__":
    corpus = texts()
    tok = train_tokenizer(corpus, DEFAULT_VOCAB_SIZE)
    path = save_tokenizer(tok, DEFAULT_TOKENIZER.parent)
    print(f"wrote {path}: {tok.get_vocab_size()} tokens from {len(corpus)} texts")
