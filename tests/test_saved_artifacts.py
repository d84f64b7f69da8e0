"""Folders saved by an earlier layout of the package still load and behave the same:
a nano router checkpoint and a learned-router folder, written before the package was
reorganised (tests/fixtures/legacy; expected.json holds what they returned then)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cadre.modeling import load_checkpoint
from cadre.routing.loading import load_router

LEGACY = Path(__file__).parent / "fixtures" / "legacy"
EXPECTED = json.loads((LEGACY / "expected.json").read_text())


@pytest.mark.parametrize("name", ["nano_router", "learned_router"])
def test_a_router_saved_before_the_move_routes_as_it_did(name, tmp_path):
    folder = shutil.copytree(LEGACY / name, tmp_path / name)  # loading may upgrade the folder (nano's ONNX export)
    router = load_router(folder)
    expected = EXPECTED[name]
    assert router.labels == expected["labels"]
    scores = router.score_batch(EXPECTED["texts"])
    np.testing.assert_allclose(scores, np.array(expected["scores"]), atol=1e-4)
    assert [router.route(t).name for t in EXPECTED["texts"]] == expected["routes"]


def test_a_checkpoint_saved_before_the_move_opens():
    model, meta = load_checkpoint(LEGACY / "nano_router")
    assert meta["type"] == "router" and meta["labels"] == EXPECTED["nano_router"]["labels"]
    assert sum(p.numel() for p in model.parameters()) > 500_000
