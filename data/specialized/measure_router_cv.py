"""How hard router_training.txt is: 5-fold stratified CV of two reference classifiers.

    OMP_NUM_THREADS=1 .venv/bin/python data/specialized/measure_router_cv.py [FILE]

TF-IDF (word 1-2-grams + char_wb 2-5-grams, sublinear tf) + logistic regression, and
MiniLM-L6 embeddings (cadre.encoders.text.encode_texts) + logistic regression, both
C=10, folds shuffled with random_state=0. Prints accuracy and the commonest confusions.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def read_router_pairs(path: Path) -> tuple[list[str], np.ndarray]:
    """Questions and intent labels of a router Q/A file."""
    pairs = re.findall(r"^Q: (.*)\nA: \[E:tool\](\w+)$", path.read_text(encoding="utf-8"), re.M)
    return [q for q, _ in pairs], np.array([a for _, a in pairs])


def report(name: str, y: np.ndarray, pred: np.ndarray) -> None:
    """Print accuracy and the five commonest (true -> predicted) confusions."""
    confusions: dict[tuple[str, str], int] = {}
    for t, p in zip(y, pred):
        if t != p:
            confusions[(t, p)] = confusions.get((t, p), 0) + 1
    top = sorted(confusions.items(), key=lambda kv: -kv[1])[:5]
    print(f"{name}: accuracy {np.mean(pred == y):.3f}; top confusions: "
          + ", ".join(f"{t}->{p} {n}" for (t, p), n in top))


def main() -> None:
    """Run both cross-validations on the given file (default: the bundled one)."""
    import torch
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline, make_union

    from cadre.encoders.text import encode_texts

    torch.set_num_threads(1)
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "router_training.txt"
    x, y = read_router_pairs(path)
    print(f"{path.name}: {len(x)} pairs")
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    tfidf = make_pipeline(make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                                     TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
                          LogisticRegression(C=10, max_iter=3000))
    report("TF-IDF word+char + LR", y, cross_val_predict(tfidf, x, y, cv=folds))
    embeddings = encode_texts(x)  # (N, 384), L2-normalised
    report("MiniLM + LR", y, cross_val_predict(LogisticRegression(C=10, max_iter=3000), embeddings, y, cv=folds))


if __name__ == "__main__":
    main()
