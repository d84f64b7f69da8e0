"""Building router folders from labelled examples: any registered kind is fitted here
(`fit_light_router`, through `cadre.routing.intent.kinds`); a nano checkpoint (trained by `cadre.training`, which routing never imports)
is finished here: ONNX export, thresholds calibrated on validation data, metadata.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from cadre.errors import CadreError
from cadre.labels import OUT_OF_SCOPE, is_out_of_scope
from cadre.routing.base import Router
from cadre.routing.store import FALLBACK_FILE, update_meta


def texts_labels(examples) -> tuple[list[str], list[str]]:
    """Texts and labels of router examples; an example without a label is an error."""
    missing = [ex.source for ex in examples if ex.label is None]
    if missing:
        raise CadreError(f"{missing[0]}: router examples need a label (A: [E:tool]intent, or a label column)")
    return [ex.question for ex in examples], [ex.label for ex in examples]


def check_classes(labels: Sequence[str], where: str = "router data") -> list[str]:
    """The sorted in-scope classes; fewer than two is a one-line error."""
    classes = sorted({label for label in labels if not is_out_of_scope(label)})
    if len(classes) < 2:
        only = repr(classes[0]) if classes else "no in-scope class"
        raise CadreError(f"{where} has a single class ({only}); a router needs at least two")
    return classes


def split_examples(examples, val_fraction: float = 0.1, seed: int = 0):
    """The deterministic, stratified split the trainer uses too: (train, val)."""
    from cadre.data.splits import train_val_split

    return train_val_split(examples, val_fraction, seed)


def calibrate(router: Router, texts: Sequence[str], gold: Sequence[str], target_precision: float,
              oos_weight: float = 1.0, per_route: bool = True) -> dict[str, float]:
    """Fit thresholds on validation texts (per route, shrunk toward the pooled one; or one
    pooled threshold with `per_route=False`) and set them on the router."""
    import numpy as np

    from cadre.routing.intent.calibration import fit_thresholds

    if not 0.0 < target_precision <= 1.0:
        raise CadreError(f"target precision {target_precision} must be in (0, 1]")
    probs = np.asarray(router.score_batch(list(texts)))
    thresholds = fit_thresholds(probs, gold, router.labels, target_precision, oos_weight=oos_weight,
                                per_route=per_route)
    router.set_thresholds(thresholds)
    return thresholds


def fit_embedding(train, val=None, head: str = "logreg", mode: str = "head", target_precision: float | None = None,
                  encoder=None, **head_options):
    """An embedding router (trained head, or nearest utterance) from examples."""
    from cadre.routing.base import Route
    from cadre.routing.intent.embedding import EmbeddingRouter

    texts, labels = texts_labels(train)
    check_classes(labels)
    if mode == "nearest":
        by_route: dict[str, list[str]] = {}
        for text, label in zip(texts, labels):
            if not is_out_of_scope(label):
                by_route.setdefault(label, []).append(text)
        router = EmbeddingRouter.from_routes([Route(k, v) for k, v in sorted(by_route.items())], encoder=encoder)
    else:
        router = EmbeddingRouter.fit(texts, labels, head=head, encoder=encoder, **head_options)
    if val and target_precision:
        calibrate(router, *texts_labels(val), target_precision)
    return router


def finish_nano(folder: str | Path, val=None, target_precision: float | None = None, export: bool = True,
                default_route: str | None = None, fallback_rules: str | Path | None = None,
                per_route: bool = True) -> dict:
    """Turn a trainer checkpoint into a nano router folder: ONNX export (when onnxruntime
    is installed), calibrated thresholds, `router_kind`; returns the metadata written."""
    from cadre.routing.intent.nano import NanoRouter, export_onnx, onnx_available

    folder = Path(folder)
    if export and onnx_available():
        export_onnx(folder)
    fields = {"router_kind": "nano", "default_route": default_route}
    if val and target_precision:
        router = NanoRouter.load(folder, prefer_onnx=export)
        fields["thresholds"] = calibrate(router, *texts_labels(val), target_precision, per_route=per_route)
        fields["calibration"] = {"target_precision": target_precision, "examples": len(val), "per_route": per_route}
    if fallback_rules:
        copy_rules(fallback_rules, folder)
    return update_meta(folder, **fields)


def copy_rules(rules: str | Path, folder: str | Path) -> None:
    """Validate keyword rules and store them as the folder's fallback.yaml."""
    from cadre.data.examples import read_text_file
    from cadre.fsutil import atomic_write_text
    from cadre.routing.intent.keyword import KeywordRouter

    KeywordRouter.from_yaml(rules)  # a bad rules file fails before anything is written
    atomic_write_text(Path(folder) / FALLBACK_FILE, read_text_file(rules))


def route_names(router: Router) -> list[str]:
    """The in-scope routes of a router."""
    return [label for label in router.labels if label != OUT_OF_SCOPE]


def fit_light_router(kind: str, train, val_ex, output, target_precision, head: str = "logreg", mode: str = "head",
                     rules=None, default_route=None, fallback_rules=None, per_route: bool = True,
                     train_budget: float | None = None, epochs: int | None = None, say=None) -> list[str]:
    """Fit and save a router of a registered kind that needs no trainer (keyword, tfidf,
    fast, embedding, ensemble, cascade, finetune...), with thresholds fitted on validation
    data when a target is given; its labels."""
    from cadre.routing.intent.kinds import FitOptions, get_kind

    spec = get_kind(kind)
    if kind != "keyword" and val_ex is None and target_precision:
        train, val_ex = split_examples(train)
    router = spec.fit(kind_data(spec, train, FitOptions(rules=rules, head=head, mode=mode,
                                                                train_budget=train_budget, epochs=epochs), output, say))
    if val_ex and target_precision:
        calibrate(router, *texts_labels(val_ex), target_precision, per_route=per_route)
    router.default_route = default_route or router.default_route
    if spec.writes_folder:
        update_meta(output, thresholds=router.thresholds, default_route=router.default_route)
    else:
        router.save(output)
    if fallback_rules:
        copy_rules(fallback_rules, output)
    return router.labels


def kind_data(spec, train, options, output=None, say=None):
    """A kind's FitData for examples (None: no data, e.g. the bundled keyword rules)."""
    import numpy as np

    from cadre.routing.intent.kinds import FitData, compute_features
    from cadre.routing.store import canonical_labels

    texts, labels = texts_labels(train) if train is not None else ([], [])
    labels = canonical_labels(labels)
    if train is not None:
        check_classes(labels)
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels], dtype=np.int64)
    return FitData(texts, labels, classes, y, len(texts), compute_features(texts, spec.encoders), options,
                   output=None if output is None else Path(output), log=say or (lambda line: None))
