"""The bundled intent benchmarks (data/intents): CLINC150 with its oos splits, Banking77."""
from __future__ import annotations

import pytest

from cadre.data.intents import banking77_categories, load_banking77, load_clinc150
from cadre.errors import CadreError


def test_clinc150_splits_and_oos_rows():
    sizes = {"train": 15000 + 100, "val": 3000 + 100, "test": 4500 + 1000}
    for split, size in sizes.items():
        rows = load_clinc150(split)
        assert len(rows) == size
        assert sum(r.label == "oos" for r in rows) == size - {"train": 15000, "val": 3000, "test": 4500}[split]
    inscope = load_clinc150("train", oos=False)
    assert len({r.label for r in inscope}) == 150 and all(r.question for r in inscope)


def test_banking77_matches_its_categories():
    train, test = load_banking77("train"), load_banking77("test")
    assert (len(train), len(test)) == (10003, 3080)
    categories = banking77_categories()
    assert len(categories) == 77 and {r.label for r in train} == set(categories) == {r.label for r in test}


def test_unknown_split_and_missing_root(tmp_path):
    with pytest.raises(CadreError, match="unknown CLINC150 split"):
        load_clinc150("dev")
    with pytest.raises(CadreError, match="data file not found"):
        load_banking77("train", root=tmp_path)
