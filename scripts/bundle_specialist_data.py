"""Build the small, openly licensed data slices that the specialist catalog bundles in
data/specialists/ (each derived from ../shared/datasets; see data/specialists/ATTRIBUTION.md).

    python scripts/bundle_specialist_data.py [--shared /work/shared/datasets]

Seeded, so a rerun writes the same files. Only CC BY / CC BY-SA data is bundled; SST-2,
TREC and CoNLL-2003 carry no open licence and are read from ../shared (or --data).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cadre.data.formats import read_conll  # noqa: E402

OUT = ROOT / "data" / "specialists"


def write(name: str, split: str, rows: list[dict]) -> None:
    path = OUT / name / f"{split}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{path.relative_to(ROOT)}: {len(rows)} rows")


def sample(rows: list, n: int, seed: int = 42) -> list:
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows[:n]


def clinc(shared: Path) -> None:
    """topic: the 10 CLINC150 domains; scope: supported (in-scope) vs unsupported (oos)."""
    data = json.loads((shared / "clinc150" / "data_full.json").read_text())
    domain = {i: d for d, intents in json.loads((shared / "clinc150" / "domains.json").read_text()).items()
              for i in intents}
    for split, n in (("train", 1500), ("test", 300)):
        write("topic", split, [{"text": t, "label": domain[i]} for t, i in sample(data[split], n)])
    for split, n_in in (("train", 700), ("test", 150)):
        oos = data[f"oos_{split}"][: (100 if split == "train" else 150)]
        rows = [{"text": t, "label": "supported"} for t, _ in sample(data[split], n_in)]
        rows += [{"text": t, "label": "unsupported"} for t, _ in oos]
        write("scope", split, sample(rows, len(rows)))


def spam(shared: Path) -> None:
    """SMS Spam Collection: a seeded split, stratified by label."""
    lines = (shared / "sms_spam" / "SMSSpamCollection").read_text(encoding="utf-8").splitlines()
    rows = [dict(zip(("label", "text"), line.split("\t", 1))) for line in lines if "\t" in line]
    train, test = [], []
    for label in ("ham", "spam"):
        mine = sample([r for r in rows if r["label"] == label], 10**6)
        cut = round(len(mine) * 0.2)
        test += mine[:cut]
        train += mine[cut:]
    write("spam", "train", sample(train, 1500))
    write("spam", "test", sample(test, 400))


def wnut(shared: Path) -> None:
    """WNUT-17 NER: sentences with their entities as `type: words | ...` (or none)."""
    folder = shared / "wnut17"
    write("ner", "train", sample(read_conll((folder / "wnut17train.conll").read_text(encoding="utf-8")), 1500))
    write("ner", "test", sample(read_conll((folder / "emerging.test.annotated").read_text(encoding="utf-8")), 400))


def spider(shared: Path) -> None:
    """Spider dev: question, compact schema `table(col, ...); ...` and gold SQL."""
    folder = shared / "spider_dev"
    schemas = {}
    for db in json.loads((folder / "tables.json").read_text()):
        tables = {i: [] for i in range(len(db["table_names_original"]))}
        for t, col in db["column_names_original"]:
            if t >= 0:
                tables[t].append(col)
        schemas[db["db_id"]] = "; ".join(f"{db['table_names_original'][i]}({', '.join(cols)})"
                                         for i, cols in tables.items())
    rows = [{"db_id": q["db_id"], "question": q["question"], "schema": schemas[q["db_id"]], "query": q["query"]}
            for q in json.loads((folder / "dev.json").read_text())]
    write("sql", "all", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "datasets")
    shared = parser.parse_args().shared
    for build in (clinc, spam, wnut, spider):
        build(shared)


if __name__ == "__main__":
    main()
