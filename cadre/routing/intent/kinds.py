"""The one registry of intent router kinds: how each is fitted, cross-validated by
`--kind auto`, and loaded. The CLI's `--kind` and `--candidates`, `auto`, `router train
--kind X` and `load_router` all read it.

Adding a kind: write its module (a `Router` subclass that calls `register_router` for its
loader, and a `RouterKind` passed to `register_kind`), then add the module's name to
`KIND_MODULES` below: one line.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cadre.errors import CadreError

# Modules that register kinds, in the canonical order of the candidates table.
KIND_MODULES = ("cadre.routing.intent.kinds_builtin", "cadre.routing.intent.finetune",
                "cadre.routing.intent.blend")


@dataclass
class FitOptions:
    """What a kind's fit may read besides the data (auto's options extend these)."""

    rules: str | Path | None = None  # keyword rules YAML
    head: str = "logreg"  # embedding: logreg or mlp
    mode: str = "head"  # embedding: head or nearest
    seed: int = 0
    latency_samples: int = 50  # single requests timed per candidate
    train_budget: float | None = None  # wall seconds a fine-tuning kind may train (None: no limit; auto: skip it)
    epochs: int | None = None  # a trained kind's epochs (None: its default)
    progress: bool = False  # progress bars with an ETA on stderr


@dataclass
class FitData:
    """What a kind's `fit` and `score` receive. Rows [:n_train] are training rows; with
    --val the validation rows follow them (fold 0 of `folds`)."""

    texts: list[str]
    labels: list[str]
    classes: list[str]
    y: np.ndarray  # (N,) index into classes
    n_train: int
    feats: dict  # encoder name -> (vectors (N, D), encoder): each computed once, shared by every kind and fold
    options: FitOptions
    folds: Any = None  # auto_cv.Folds; None outside auto
    table: list = field(default_factory=list)  # rows scored so far (cascade and nano read them)
    trainers: dict = field(default_factory=dict)  # kind -> trainer that lives outside routing (nano)
    output: Path | None = None
    log: Callable[[str], None] = print
    cache: dict = field(default_factory=dict)  # work shared between kinds (each fold's TF-IDF)
    notes: list = field(default_factory=list)  # what the kinds said (e.g. why one sat out)

    def training(self) -> "FitData":
        """The training rows only (for the final fit)."""
        n = self.n_train
        return replace(self, texts=self.texts[:n], labels=self.labels[:n], y=self.y[:n], cache={},
                       feats={k: (x[:n], e) for k, (x, e) in self.feats.items()})

    def row(self, kind: str):
        """The scored row of `kind` in the table so far, or None."""
        return next((s for s in self.table if s.kind == kind), None)


@dataclass(frozen=True)
class RouterKind:
    """One router kind. `fit(data) -> Router` fits on data.texts; `score(data) -> Scored |
    None` scores it out of fold (None: it sits this run out); `saved_as` is the
    `router_kind` its folder is saved under (the loader's key)."""

    name: str
    summary: str  # for --help
    module: str  # imported to register the loader
    saved_as: str
    fit: Callable
    score: Callable | None = None  # None: not an auto candidate
    encoders: tuple[str, ...] = ()  # sentence vectors fit and score read from data.feats
    needs: tuple[str, ...] = ()  # candidates whose rows it is scored from
    writes_folder: bool = False  # its fit saves the folder itself (a trainer's checkpoint)
    per_request: tuple[str, ...] | None = None  # encoders every request runs (None: all of `encoders`)

    @property
    def request_encoders(self) -> tuple[str, ...]:
        """Encoders on every request: their single-text time is a floor under this kind's p50."""
        return self.encoders if self.per_request is None else self.per_request


KINDS: dict[str, RouterKind] = {}


def register_kind(kind: RouterKind) -> None:
    """Add a kind; a duplicate name is an error."""
    if kind.name in KINDS:
        raise ValueError(f"router kind {kind.name!r} is already registered")
    KINDS[kind.name] = kind


def registry() -> dict[str, RouterKind]:
    """Every registered kind, in registration order (imports the kind modules once)."""
    for name in KIND_MODULES:
        importlib.import_module(name)
    return KINDS


def kind_names() -> list[str]:
    """The kinds `router train --kind` accepts (besides auto)."""
    return list(registry())


def candidate_names() -> list[str]:
    """The kinds `--kind auto` can cross-validate, in table order."""
    return [k.name for k in registry().values() if k.score is not None]


def get_kind(name: str) -> RouterKind:
    """The registered kind; an unknown one is a one-line error."""
    kinds = registry()
    if name not in kinds:
        raise CadreError(f"unknown router kind {name!r}; use one of {', '.join(['auto', *kinds])}")
    return kinds[name]


def router_modules() -> list[str]:
    """Modules whose import registers the intent routers' loaders."""
    return list(dict.fromkeys(k.module for k in registry().values()))


def encoders_for(kinds) -> list[str]:
    """The sentence encoders a set of kinds reads, each once."""
    return list(dict.fromkeys(e for k in kinds for e in get_kind(k).encoders))


def compute_features(texts: list[str], encoders, given: dict | None = None, log: Callable[[str], None] | None = None
                     ) -> dict:
    """{encoder name: (vectors (N, D), encoder)} for each encoder named, each run once over
    `texts` (or taken from `given`, precomputed vectors by encoder name)."""
    import time

    from cadre.routing.intent.encoders import NONE, make_encoder, no_vectors

    feats, given = {NONE: (no_vectors(texts), no_vectors)}, given or {}
    for name in encoders:
        if name in feats:
            continue
        enc = make_encoder(name)
        start, cpu = time.perf_counter(), time.process_time()
        feats[name] = (given[name] if name in given else enc(texts), enc)
        if log is not None and name not in given:
            log(f"  features {name}: {len(texts)} texts, {time.process_time() - cpu:.1f} CPU-s "
                f"({time.perf_counter() - start:.1f} s)")
    return feats
