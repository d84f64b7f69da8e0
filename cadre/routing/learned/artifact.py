"""The learned router's artifact folder and the bundle of fitted parts it holds.

A folder holds `cadre.json` (type `router`, `router_kind: learned`, `learned_format`,
models, costs, feature spec, predictor kinds, member configs, operating point,
hyper-parameters, validation figures, the training table's report) and
`weights.safetensors` with every array: `member<i>.<name>` for each fitted predictor,
`calib.<name>` for the calibrator and, for static text features, `text.table` (the
float16 token table, so a saved router never needs the distilled table's cache). No pickles. A folder written by another format
version is refused with a clear error.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cadre.errors import CadreError
from cadre.routing.learned.calibrator import Calibrator
from cadre.routing.learned.features import FEATURIZER_VERSION, READABLE_FEATURIZERS
from cadre.routing.learned.predictors import Predictor, predictor_class

LEARNED_FORMAT = 2
WEIGHTS = "weights.safetensors"


class RouterModel:
    """Predictors grouped by kind, plus the calibrator: features → calibrated P(correct)."""

    def __init__(self, kinds: list[str], members: list[Predictor], calibrator: Calibrator,
                 text_table: np.ndarray | None = None):
        self.kinds, self.members, self.calibrator = kinds, members, calibrator
        self.text_table = text_table  # (V, 256) static token vectors, or None for MiniLM

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Each kind's mean prediction, side by side: (N, len(kinds) · M)."""
        cols = []
        for kind in self.kinds:
            preds = [m.predict(X) for m in self.members if m.kind == kind]
            cols.append(np.mean(preds, axis=0))
        return np.hstack(cols)

    def predict(self, X: np.ndarray, shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated P (N, M), format cluster per row (N,))."""
        ids = self.calibrator.clusters(shapes)
        return self.calibrator.apply(self.raw(X), ids), ids


def save_artifact(output: str | Path, meta: dict, model: RouterModel) -> None:
    """Write weights.safetensors and cadre.json into `output`, atomically."""
    from safetensors.numpy import save_file

    from cadre.checkpoint import write_metadata
    from cadre.fsutil import atomic_dir

    arrays = {f"calib.{k}": np.ascontiguousarray(v) for k, v in model.calibrator.arrays.items()}
    for i, m in enumerate(model.members):
        arrays.update({f"member{i}.{k}": np.ascontiguousarray(v) for k, v in m.arrays.items()})
    if model.text_table is not None:
        arrays["text.table"] = np.ascontiguousarray(model.text_table, np.float16)
    static = meta.get("feature_spec", {}).get("text", "minilm") == "static"
    meta = {**meta, "type": "router", "router_kind": "learned", "learned_format": LEARNED_FORMAT,
            "featurizer_version": FEATURIZER_VERSION if static else 1, "kinds": model.kinds,
            "member_configs": [{"kind": m.kind, "config": m.config} for m in model.members]}
    with atomic_dir(output) as tmp:
        save_file(arrays, str(tmp / WEIGHTS))
        write_metadata(tmp, meta)


def load_artifact(path: str | Path) -> tuple[dict, RouterModel]:
    """Read and check an artifact folder: (metadata, RouterModel)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from cadre.checkpoint import read_metadata

    path = Path(path)
    meta = read_metadata(path)
    if meta.get("router_kind") != "learned":
        raise CadreError(f"{path}: not a learned-router folder (router_kind {meta.get('router_kind')!r})")
    if meta.get("learned_format") != LEARNED_FORMAT:
        raise CadreError(f"{path}: learned-router format {meta.get('learned_format')!r} is not "
                         f"{LEARNED_FORMAT}; refit it with `cadre router fit-learned`")
    if meta.get("featurizer_version") not in READABLE_FEATURIZERS:
        raise CadreError(f"{path}: built with featurizer version {meta.get('featurizer_version')!r}, "
                         f"this cadre has {FEATURIZER_VERSION}; refit it")
    try:
        arrays = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CadreError(f"{path / WEIGHTS}: missing, corrupt or truncated ({exc})") from None
    members = []
    for i, entry in enumerate(meta["member_configs"]):
        prefix = f"member{i}."
        cls = predictor_class(entry["kind"])
        members.append(cls(entry["config"], {k[len(prefix):]: v for k, v in arrays.items()
                                             if k.startswith(prefix)}))
    calib = Calibrator({k[6:]: v for k, v in arrays.items() if k.startswith("calib.")})
    table = arrays["text.table"].astype(np.float32) if "text.table" in arrays else None
    if meta.get("feature_spec", {}).get("text") == "static" and table is None:
        raise CadreError(f"{path / WEIGHTS}: static text features but no token table; refit it")
    return meta, RouterModel(list(meta["kinds"]), members, calib, table)
