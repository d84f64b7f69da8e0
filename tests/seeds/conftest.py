"""Fixtures of the seed tests: `seed_specialist` (a nano checkpoint trained on seed 000's
own Q/A examples: the code model and the vision captioner) and `seed_project` (the
project in effect, with `tiny_causal_dir` from tests/conftest.py as the primary).
Nothing is read from /work/shared."""
from __future__ import annotations

import pytest

from tests.seeds.seedkit import SEED_QA, project_yaml, train, write_qa


@pytest.fixture(scope="session")
def seed_specialist(tmp_path_factory):
    """A nano checkpoint trained on seed 000's Q/A examples: the code model and the captioner."""
    root = tmp_path_factory.mktemp("seed_specialist")
    data = write_qa(root / "qa.txt", SEED_QA)
    train(type="code", data=[str(data)], model_size="nano", epochs=60, lr=1e-2, batch_size=4,
          val_split=0.0, output=str(root / "model"))
    return root / "model"


@pytest.fixture
def seed_project(tmp_path, monkeypatch, tiny_causal_dir, seed_specialist):
    """The seed project as the project in effect ($CADRE_CONFIG), with a fresh process-wide router."""
    import torch

    from cadre.runtime import registry, tool_router

    torch.set_num_threads(1)
    path = tmp_path / "cadre.yaml"
    path.write_text(project_yaml(tiny_causal_dir, seed_specialist))
    monkeypatch.setenv("CADRE_CONFIG", str(path))
    monkeypatch.setattr(tool_router, "_ROUTERS", {})
    monkeypatch.setattr(registry, "_DEFAULT", None)
    return path


