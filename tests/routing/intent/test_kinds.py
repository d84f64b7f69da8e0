"""One `RouterKind` registry: the CLI's `--kind` and `--candidates`, `auto`, fitting and
loading all list the same kinds; a new kind is one module plus one registration line."""
from __future__ import annotations

import inspect
import json
import sys
import textwrap

import numpy as np

from cadre.cli.router_intent import kinds as cli_kinds, train_cmd
from cadre.data.examples import Example
from cadre.routing import load_router
from cadre.routing.base import LOADERS
from cadre.routing.intent import kinds as registry_module
from cadre.routing.intent.auto import AutoOptions, check_candidates, run_auto
from cadre.routing.intent.fit import fit_light_router
from cadre.routing.loading import builtin_modules, register_builtins


def test_cli_auto_fitting_and_loading_list_the_same_kinds():
    kinds = registry_module.registry()
    names = list(kinds)
    assert cli_kinds() == ["auto", *names]
    default = inspect.signature(train_cmd).parameters["candidates"].default.default
    assert default.split(",") == registry_module.candidate_names() == check_candidates(None) == names
    register_builtins()
    assert all(callable(k.fit) and k.saved_as in LOADERS and k.module in builtin_modules() for k in kinds.values())
    assert {"keyword", "tfidf", "fast", "embedding", "ensemble", "cascade", "nano"} <= set(names)


TOY = '''
"""A toy kind: the training data's most common route, whatever the text."""
from pathlib import Path

import numpy as np

from cadre.routing.base import Router, register_router
from cadre.routing.intent.auto_cv import Scored
from cadre.routing.intent.kinds import RouterKind, register_kind


class Majority(Router):
    def __init__(self, labels, prior):
        super().__init__(labels)
        self.prior = np.asarray(prior, dtype=np.float32)

    def score_batch(self, texts):
        return np.tile(self.prior, (len(texts), 1))

    def save(self, folder):
        from cadre.checkpoint import write_metadata

        Path(folder).mkdir(parents=True, exist_ok=True)
        write_metadata(folder, {"type": "router", "router_kind": "majority", "labels": self.labels,
                                "prior": self.prior.tolist()})


def load(folder):
    from cadre.checkpoint import read_metadata

    meta = read_metadata(folder)
    return Majority(meta["labels"], meta["prior"])


def fit(data):
    prior = np.bincount(data.y, minlength=len(data.classes)) / len(data.y)
    return Majority(data.classes, prior)


def score(data):
    held = data.folds.index == 0
    prior = np.bincount(data.y[~held], minlength=len(data.classes)) / (~held).sum()
    accuracy = float((data.y[held] == prior.argmax()).mean())
    probs = np.full((len(data.y), len(data.classes)), np.nan, dtype=np.float32)
    probs[held] = prior
    return Scored("majority", [accuracy], probs, 1.0, 0.001, 0.002, "toy")


register_router("majority", Majority, load)
register_kind(RouterKind("majority", "the most common route", __name__, "majority", fit, score))
'''


def test_a_new_kind_is_one_module_and_one_registration_line(tmp_path, monkeypatch):
    (tmp_path / "toy_majority_kind.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry_module, "KINDS", dict(registry_module.registry()))
    monkeypatch.setattr(registry_module, "KIND_MODULES", registry_module.KIND_MODULES + ("toy_majority_kind",))
    try:
        assert cli_kinds()[-1] == "majority" and registry_module.candidate_names()[-1] == "majority"
        texts = [f"card {i}" for i in range(12)] + [f"rate {i}" for i in range(6)]
        labels = ["card"] * 12 + ["rate"] * 6
        fit_light_router("majority", [Example(question=t, label=l) for t, l in zip(texts, labels)], None,
                         tmp_path / "fitted", None)
        assert load_router(tmp_path / "fitted").route("anything").name == "card"
        result = run_auto(texts, labels, AutoOptions(candidates=["majority"], folds=2), tmp_path / "auto",
                          log=lambda line: None)
        assert result.chosen.kind == "majority"
        assert json.loads((tmp_path / "auto" / "cadre.json").read_text())["auto"]["chosen"] == "majority"
        assert np.allclose(load_router(tmp_path / "auto").score_batch(["x"])[0], [2 / 3, 1 / 3])
    finally:
        sys.modules.pop("toy_majority_kind", None)
        LOADERS.pop("majority", None)
        from cadre.routing.base import ROUTER_KINDS

        ROUTER_KINDS.pop("majority", None)
