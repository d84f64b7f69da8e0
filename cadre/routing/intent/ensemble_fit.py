"""Fitting the `ensemble` router: the linear classifier over [TF-IDF | scale · MiniLM],
its softmax temperature, and the out-of-scope detector on cross-fitted features."""
from __future__ import annotations

import numpy as np

from cadre.errors import CadreError
from cadre.labels import OUT_OF_SCOPE
from cadre.routing.intent.ensemble_math import MIN_OOS, confidence_features, margins
from cadre.routing.intent.embedding import default_encoder, softmax

TEMPERATURES = (1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0)


def fit_linear(texts, x: np.ndarray, y: np.ndarray, n_classes: int, C: float, embed_scale: float,
               tfidf_parts=None):
    """TF-IDF features and a LinearSVC over [TF-IDF | scale · x]: (tfidf, W (C, V+D), b (C,)).
    `tfidf_parts`, (fitted TfidfFeatures, its transform of `texts`), skips refitting them."""
    import scipy.sparse as sp
    from sklearn.svm import LinearSVC

    from cadre.routing.intent.tfidf import TfidfFeatures

    if tfidf_parts is None:
        tfidf = TfidfFeatures.fit(texts)
        tfidf_parts = (tfidf, tfidf.transform(texts))
    tfidf, words = tfidf_parts
    features = sp.hstack([words, sp.csr_matrix(x * embed_scale)]).tocsr()  # (N, V+D)
    svc = LinearSVC(C=C, random_state=0).fit(features, y)
    W = np.zeros((n_classes, features.shape[1]), dtype=np.float32)
    b = np.zeros(n_classes, dtype=np.float32)
    seen = svc.classes_  # classes present in y (a cross-fitting fold may lack some)
    if len(seen) == 2:  # sklearn keeps one row for two classes: margins are ±
        W[seen[1]], W[seen[0]] = svc.coef_[0], -svc.coef_[0]
        b[seen[1]], b[seen[0]] = svc.intercept_[0], -svc.intercept_[0]
    else:
        W[svc.classes_], b[svc.classes_] = svc.coef_, svc.intercept_
    return tfidf, W, b


def fit_ensemble(cls, texts, labels, vectors, encoder, C: float, embed_scale: float, folds: int, seed: int,
                 keep_oof: bool = False, tfidf_parts=None):
    """Build an EnsembleRouter from texts and canonical labels. With `keep_oof` (or when a
    detector is fitted) the out-of-fold margins stay on the router as `oof_margins` (N, C):
    a distillation teacher's soft labels for the training texts."""
    classes = sorted(set(labels))
    if len([c for c in classes if c != OUT_OF_SCOPE]) < 2:
        raise CadreError(f"router data has a single class ({classes[0]!r}); a router needs at least two")
    y = np.array([classes.index(label) for label in labels])
    x = vectors if vectors is not None else (encoder or default_encoder)(texts)  # (N, D)
    tfidf, W, b = fit_linear(texts, x, y, len(classes), C, embed_scale, tfidf_parts)
    weights, temperature = {"W": W, "b": b}, 5.0
    is_oos = np.array([label == OUT_OF_SCOPE for label in labels])
    detector = is_oos.sum() >= MIN_OOS and folds >= 2
    d_oof = None
    if detector or (keep_oof and folds >= 2):
        d_oof, banks = cross_fit(texts, x, y, classes, C, embed_scale, folds, seed)
        temperature = fit_temperature(d_oof, y)
    if detector:
        weights.update(fit_detector(d_oof, temperature, x, y, banks, classes, is_oos))
        weights["bank"], weights["bank_label"] = x[~is_oos].astype(np.float16), y[~is_oos].astype(np.int32)
    router = cls(classes, tfidf, weights, temperature, embed_scale, encoder=encoder)
    router.oof_margins = d_oof
    return router


def cross_fit(texts, x, y, classes, C, embed_scale, folds, seed):
    """Out-of-fold margins (N, C) and, per fold, the rows that trained it."""
    fold = np.random.default_rng(seed).integers(0, folds, len(y))
    d_oof = np.zeros((len(y), len(classes)), dtype=np.float32)
    banks = []
    for k in range(folds):
        train, held = np.where(fold != k)[0], np.where(fold == k)[0]
        tfidf, W, b = fit_linear([texts[i] for i in train], x[train], y[train], len(classes), C, embed_scale)
        d_oof[held] = margins(tfidf.transform([texts[i] for i in held]), x[held], {"W": W, "b": b}, embed_scale)
        banks.append((train, held))
    return d_oof, banks


def fit_temperature(d: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature with the lowest negative log-likelihood on (out-of-fold) margins."""
    def nll(t):
        p = softmax(d * t)
        return -np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean()

    return float(min(TEMPERATURES, key=nll))


def fit_detector(d_oof, temperature, x, y, banks, classes, is_oos) -> dict[str, np.ndarray]:
    """Logistic regression P(in scope | confidence features), on out-of-fold features."""
    from sklearn.linear_model import LogisticRegression

    feats = np.zeros((len(y), 7), dtype=np.float32)
    probs = softmax(d_oof * temperature)
    for train, held in banks:
        keep = train[~is_oos[train]]  # the nearest-utterance bank holds in-scope rows only
        bank = {"bank": x[keep], "bank_label": y[keep]}
        feats[held] = confidence_features(d_oof[held], probs[held], x[held], bank, classes)
    mu, sd = feats.mean(axis=0), feats.std(axis=0) + 1e-6
    lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit((feats - mu) / sd, ~is_oos)
    return {"det_w": lr.coef_[0].astype(np.float32), "det_b": lr.intercept_.astype(np.float32),
            "det_mu": mu.astype(np.float32), "det_sd": sd.astype(np.float32)}
