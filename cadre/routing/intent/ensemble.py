"""The `ensemble` router: MiniLM sentence vectors ⊕ TF-IDF word and character n-grams in
one linear classifier (LinearSVC), the most accurate kind on Banking77 and CLINC150.

Scores are softmax(T · margins). When the training data has out-of-scope examples, an
out-of-scope detector is fitted too: a logistic regression over confidence features (top
margin, margin gap, the oos class's probability, cosine similarity to the nearest
training utterances), trained on cross-fitted (out-of-fold) features so that it sees
the classifier's behaviour on unseen text. Its P(in scope) scales the route scores, and
`out_of_scope` gets the rest.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.labels import OUT_OF_SCOPE
from cadre.routing.base import Router, register_router
from cadre.routing.intent.embedding import default_encoder, load_weights, softmax
from cadre.routing.intent.encoders import MINILM, STATIC, make_encoder
from cadre.routing.intent.ensemble_math import confidence_features, detector_probability, margins
from cadre.routing.store import canonical_labels

WEIGHTS_FILE = "ensemble.safetensors"
VOCAB_FILE = "vocab.json"


class EnsembleRouter(Router):
    """Linear head over [TF-IDF, scale · MiniLM]; optional out-of-scope detector."""

    def __init__(self, labels, tfidf, weights: dict[str, np.ndarray], temperature: float = 5.0,
                 embed_scale: float = 2.0, encoder=None, encoder_name: str = MINILM, **kwargs):
        super().__init__(canonical_labels(labels), **kwargs)
        self.tfidf, self.weights = tfidf, weights
        self.temperature, self.embed_scale = float(temperature), float(embed_scale)
        self.encoder_name = encoder_name
        self.encoder = encoder or (default_encoder if encoder_name == MINILM else make_encoder(encoder_name))
        self.has_detector = "det_w" in weights
        self.oof_margins: np.ndarray | None = None  # set by fit(keep_oof=True)
        if self.has_detector and OUT_OF_SCOPE not in self.labels:
            self.labels.append(OUT_OF_SCOPE)  # the detector's column
            self.thresholds[OUT_OF_SCOPE] = 0.0

    @property
    def classes(self) -> list[str]:
        """The classifier's classes (the labels without a detector-only out_of_scope column)."""
        return self.labels[: self.weights["W"].shape[0]]

    def margins(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(classifier margins (N, C), MiniLM vectors (N, 384))."""
        x = vectors if vectors is not None else self.encoder([t if t.strip() else " " for t in texts])
        return margins(self.tfidf.transform(texts), x, self.weights, self.embed_scale), x

    def score_batch(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Route probabilities (N, R); with a detector they sum to P(in scope) plus the oos column."""
        d, x = self.margins(texts, vectors)
        probs = softmax(d * self.temperature)  # (N, C)
        if not self.has_detector:
            return probs
        p_in = detector_probability(self.weights, confidence_features(d, probs, x, self.weights, self.classes))
        inscope = [i for i, c in enumerate(self.classes) if c != OUT_OF_SCOPE]
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        sub = probs[:, inscope] / probs[:, inscope].sum(axis=1, keepdims=True)
        out[:, inscope] = sub * p_in[:, None]
        out[:, self.labels.index(OUT_OF_SCOPE)] = 1.0 - p_in
        return out

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], vectors: np.ndarray | None = None, encoder=None,
            C: float = 0.5, embed_scale: float = 2.0, folds: int = 5, seed: int = 0,
            keep_oof: bool = False, encoder_name: str = MINILM, tfidf_parts=None) -> "EnsembleRouter":
        """Fit the classifier (and, with enough out-of-scope examples, the detector);
        `keep_oof` keeps cross-fitted training margins as `oof_margins` (for distillation).
        `encoder_name` picks the sentence vectors (MiniLM, static, or none: TF-IDF alone);
        `tfidf_parts` (TF-IDF fitted on `texts`, its transform of them) is reused if given."""
        from cadre.routing.intent.ensemble_fit import fit_ensemble

        encoder = encoder or (None if encoder_name == MINILM else make_encoder(encoder_name))
        router = fit_ensemble(cls, list(texts), canonical_labels(labels), vectors, encoder, C, embed_scale, folds,
                              seed, keep_oof, tfidf_parts)
        router.encoder_name = encoder_name
        return router

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        """Write ensemble.safetensors, vocab.json and cadre.json atomically."""
        from safetensors.numpy import save_file

        from cadre.checkpoint import write_metadata
        from cadre.fsutil import atomic_dir

        vocab, idf = self.tfidf.state()
        arrays = {**{k: np.ascontiguousarray(v) for k, v in self.weights.items() if not k.startswith("_")}, **idf}
        if self.encoder_name == STATIC:  # the router carries its own token table
            arrays["static_table"] = self.encoder.table.astype(np.float16)
        with atomic_dir(folder) as tmp:
            save_file(arrays, str(tmp / WEIGHTS_FILE))
            (tmp / VOCAB_FILE).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
            write_metadata(tmp, {"type": "router", "router_kind": "ensemble", "encoder": self.encoder_name,
                                 "labels": self.classes, "thresholds": self.thresholds,
                                 "default_route": self.default_route, "temperature": self.temperature,
                                 "embed_scale": self.embed_scale, **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path, encoder=None) -> "EnsembleRouter":
        """Open an ensemble router folder."""
        from cadre.routing.store import finish, router_meta
        from cadre.routing.intent.tfidf import TfidfFeatures

        folder = Path(folder)
        meta = router_meta(folder, "ensemble")
        arrays = load_weights(folder / WEIGHTS_FILE)
        try:
            vocab = json.loads((folder / VOCAB_FILE).read_text(encoding="utf-8"))
            tfidf = TfidfFeatures.from_state(vocab, arrays)
        except (OSError, ValueError, KeyError) as exc:
            raise CadreError(f"{folder}: corrupt ensemble router ({VOCAB_FILE}: {exc})") from None
        name = meta.get("encoder") or MINILM
        table = arrays.pop("static_table", None)
        if encoder is None and name != MINILM:
            encoder = make_encoder(name, None if table is None else table.astype(np.float32))
        weights = {k: v for k, v in arrays.items() if not k.startswith("idf_")}
        router = cls(meta["labels"], tfidf, weights, meta.get("temperature", 5.0), meta.get("embed_scale", 2.0),
                     encoder=encoder, encoder_name=name)
        return finish(router, folder, meta)


register_router("ensemble", EnsembleRouter, EnsembleRouter.load)
