"""The `blend` router: the fine-tuned MiniLM (`finetune`) and the frozen-encoder ensemble
(MiniLM ⊕ TF-IDF) answer together, their probabilities averaged. The two err on different
texts (on Banking77 each is right on about 1.3% of test texts where the other is wrong; on
one seed their average scored 0.4-0.5 points above either, docs/benchmarks.md). It costs both routers' time per request (two MiniLM
passes), so `auto` considers it only under a latency budget that admits it
(`--max-latency-ms`) and with `--train-budget`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing.base import Router, register_router
from cadre.routing.intent.encoders import MINILM
from cadre.routing.intent.kinds import FitData, RouterKind, get_kind, register_kind

PARTS = ("finetune", "ensemble")  # the kinds blended, each saved in a subfolder of that name
# finetune's weight (the ensemble gets the rest): fixed, the plain average of two models,
# so that auto's held-out score of the blend is not flattered by choosing it there
WEIGHT = 0.5


class BlendRouter(Router):
    """Σ weight · probabilities of its parts, (N, R); the parts share their routes."""

    def __init__(self, parts: Sequence[Router], weights: Sequence[float], **kwargs):
        if len(parts) != len(weights) or any(p.labels != parts[0].labels for p in parts):
            raise CadreError("blend: the routers blended must share their routes, one weight each")
        super().__init__(list(parts[0].labels), **kwargs)
        self.parts, self.weights = list(parts), [float(w) for w in weights]

    def score_batch(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for part, weight in zip(self.parts, self.weights):
            out += weight * np.asarray(part.score_batch(texts), dtype=np.float32)
        return out

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        """Each part in its subfolder, and cadre.json, atomically."""
        from cadre.checkpoint import write_metadata
        from cadre.fsutil import atomic_dir

        with atomic_dir(folder) as tmp:
            for name, part in zip(PARTS, self.parts):
                part.save(tmp / name)
            write_metadata(tmp, {"type": "router", "router_kind": "blend", "labels": self.labels,
                                 "thresholds": self.thresholds, "default_route": self.default_route,
                                 "parts": dict(zip(PARTS, self.weights)), **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path) -> "BlendRouter":
        from cadre.routing.loading import load_router
        from cadre.routing.store import finish, router_meta

        folder = Path(folder)
        meta = router_meta(folder, "blend")
        weights = meta.get("parts")
        if not isinstance(weights, dict) or set(weights) != set(PARTS):
            raise CadreError(f"{folder}: corrupt blend router (cadre.json's parts must weigh {' and '.join(PARTS)})")
        parts = [load_router(folder / name) for name in PARTS]
        return finish(cls(parts, [float(weights[name]) for name in PARTS]), folder, meta)


def score_blend(data: FitData):
    """From the finetune and ensemble rows' out-of-fold probabilities (no refitting), on
    the rows both scored; timing derived: the parts' p50s and p99s added."""
    from cadre.routing.intent.auto_cv import Scored

    ft, ens = data.row("finetune"), data.row("ensemble")
    if ft is None or ens is None:
        data.notes.append("blend skipped: it is scored from the finetune and ensemble rows "
                          f"({'finetune' if ft is None else 'ensemble'} sat out)")
        return None
    seen = ~np.isnan(ft.probs[:, 0]) & ~np.isnan(ens.probs[:, 0])
    probs = np.full_like(ft.probs, np.nan)
    probs[seen] = WEIGHT * ft.probs[seen] + (1.0 - WEIGHT) * ens.probs[seen]
    accuracy = float((probs[seen].argmax(axis=1) == data.y[seen]).mean())
    timed = None not in (ft.p50_ms, ens.p50_ms, ft.p99_ms, ens.p99_ms)
    note = (f"finetune × {WEIGHT:g} + ensemble × {1 - WEIGHT:g}, scored on the {int(seen.sum())} texts both were "
            "scored on; timing derived from theirs")
    return Scored("blend", [accuracy], probs, 1.0, ft.p50_ms + ens.p50_ms if timed else None,
                  ft.p99_ms + ens.p99_ms if timed else None, note, {"weight": WEIGHT})


def fit_blend(data: FitData) -> BlendRouter:
    """Both parts fitted as their kinds fit (finetune reuses what auto trained where it can)."""
    return BlendRouter([get_kind(name).fit(data) for name in PARTS], [WEIGHT, 1.0 - WEIGHT])


register_router("blend", BlendRouter, BlendRouter.load)
register_kind(RouterKind("blend", "finetune and ensemble averaged (--train-budget; two MiniLM passes a request)",
                         __name__, "blend", fit_blend, score_blend, (MINILM,), needs=PARTS))
