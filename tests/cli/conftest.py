"""Fixtures shared by the CLI tests."""
from __future__ import annotations

import pytest

from tests.cli.test_router_auto import banking_rows, write_csv


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(folder, train.csv, test.csv): a tiny slice of the bundled Banking77 (6 intents, 20 train texts each)."""
    root = tmp_path_factory.mktemp("tiny")
    return root, write_csv(root / "train.csv", banking_rows("train", 20)), write_csv(root / "test.csv",
                                                                                    banking_rows("test"))
