"""TF-IDF features over word (1–2) and character (2–5, within words) n-grams, saved
without pickles: the vocabularies as JSON, the idf vectors as safetensors arrays.
scikit-learn does the transform; a saved vectorizer is rebuilt from those two parts."""
from __future__ import annotations

from typing import Sequence

import numpy as np

WORD = {"ngram_range": (1, 2), "sublinear_tf": True}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2}
FAST_BATCH = 8  # up to this many texts per call take the pure-Python transform


class TfidfFeatures:
    """Word and character TF-IDF, concatenated: transform(texts) -> sparse (N, V)."""

    def __init__(self, vectorizers):
        self.vectorizers = vectorizers
        self._fast = None  # (analyzer, vocabulary, idf) per vectorizer, for _transform_small

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
        """Sparse CSR features (N, V); a few texts take a pure-Python path with the same
        values (sklearn's transform costs ~0.8 ms a call in validation alone)."""
        import scipy.sparse as sp

        texts = list(texts)
        if len(texts) <= FAST_BATCH:
            return self._transform_small(texts)
        return sp.hstack([v.transform(texts) for v in self.vectorizers]).tocsr()

    def _transform_small(self, texts: list[str]):
        """TF-IDF as sklearn computes it (sublinear tf · idf, L2 per vectorizer), row by row."""
        import scipy.sparse as sp

        if self._fast is None:
            self._fast = [(v.build_analyzer(), getattr(v, "vocabulary_", None) or v.vocabulary, v.idf_)
                          for v in self.vectorizers]
        data, indices, indptr = [], [], [0]
        for text in texts:
            offset = 0
            for analyze, vocab, idf in self._fast:
                counts: dict[int, int] = {}
                for gram in analyze(text):
                    j = vocab.get(gram)
                    if j is not None:
                        counts[j] = counts.get(j, 0) + 1
                cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
                vals = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[cols]
                norm = np.sqrt((vals * vals).sum())
                indices.append(cols + offset)
                data.append(vals / norm if norm > 0 else vals)
                offset += len(vocab)
            indptr.append(indptr[-1] + sum(len(c) for c in indices[-len(self._fast):]))
        size = self.size
        flat_i = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        flat_d = np.concatenate(data) if data else np.zeros(0)
        # float32 like the classifier weights: a float64 row would make scipy upcast all of W per call
        return sp.csr_matrix((flat_d.astype(np.float32), flat_i, np.array(indptr)), shape=(len(texts), size))

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
