"""TF-IDF features over word (1–2) and character (2–5, within words) n-grams, saved
without pickles: the vocabularies as JSON, the idf vectors as safetensors arrays.
scikit-learn does the transform; a saved vectorizer is rebuilt from those two parts."""
from __future__ import annotations

from typing import Sequence

import numpy as np

WORD = {"ngram_range": (1, 2), "sublinear_tf": True}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2}


class TfidfFeatures:
    """Word and character TF-IDF, concatenated: transform(texts) -> sparse (N, V)."""

    def __init__(self, vectorizers):
        self.vectorizers = vectorizers

    @classmethod
    def fit(cls, texts: Sequence[str]) -> "TfidfFeatures":
        """Fit both vectorizers on texts."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = list(texts)
        parts = []
        for params in (WORD, CHAR):
            min_df = params.get("min_df", 1) if len(texts) >= 50 else 1  # tiny data keeps every n-gram
            parts.append(TfidfVectorizer(**{**params, "min_df": min_df}).fit(texts))
        return cls(parts)

    @property
    def size(self) -> int:
        """Number of features, V."""
        return sum(len(v.vocabulary_) for v in self.vectorizers)

    def transform(self, texts: Sequence[str]):
        """Sparse CSR features (N, V)."""
        import scipy.sparse as sp

        return sp.hstack([v.transform(list(texts)) for v in self.vectorizers]).tocsr()

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-ready vocabularies, arrays) that `from_state` rebuilds the features from."""
        vocab = {f"vocab_{i}": sorted(v.vocabulary_, key=v.vocabulary_.get) for i, v in enumerate(self.vectorizers)}
        arrays = {f"idf_{i}": v.idf_.astype(np.float32) for i, v in enumerate(self.vectorizers)}
        return vocab, arrays

    @classmethod
    def from_state(cls, vocab: dict, arrays: dict[str, np.ndarray]) -> "TfidfFeatures":
        """Rebuild fitted vectorizers from `state()`."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        parts = []
        for i, params in enumerate((WORD, CHAR)):
            words = vocab[f"vocab_{i}"]
            v = TfidfVectorizer(vocabulary={w: j for j, w in enumerate(words)},
                                **{k: val for k, val in params.items() if k != "min_df"})
            v.idf_ = arrays[f"idf_{i}"].astype(np.float64)
            parts.append(v)
        return cls(parts)
