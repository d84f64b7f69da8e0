"""Stage 3 of the learned router: predictors of P(model answers correctly | prompt features).

Five kinds share one interface (`fit`, `predict`, and a state of JSON config + arrays):

- `linear`: one L2-regularised logistic regression per model (scikit-learn to fit; its
  coefficients are plain arrays, so prediction is a matrix product);
- `mlp`: a multi-output MLP (`nets.build_mlp`);
- `mf`: RouteLLM's matrix-factorisation scorer, trained pointwise on correctness;
- `knn`: the mean correctness of the k most similar training prompts (cosine), smoothed
  towards each model's overall rate; its state is the training arrays themselves;
- `gbdt`: scikit-learn's HistGradientBoostingClassifier per model on a PCA projection of
  the features. No pickles: its trees are exported to flat arrays (threshold, feature,
  children, leaf values) and predicted by `_tree_raw` in numpy, so loading needs neither
  scikit-learn nor a refit. A test checks the export against scikit-learn's own output.

Missing scores are NaN in Y and are ignored by every kind.
"""
from __future__ import annotations

import numpy as np

from cadre.errors import CadreError
from cadre.routing.learned import nets

LINEAR_DEFAULTS = {"C": 0.1}
LINEAR_GRID = {"C": [0.01, 0.03, 0.1, 0.3, 1.0]}
KNN_DEFAULTS = {"k": 20, "alpha": 2.0}
KNN_GRID = {"k": [5, 10, 20, 40, 80], "alpha": [0.5, 2.0, 5.0]}
GBDT_DEFAULTS = {"pca_dim": 48, "max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 15,
                 "min_samples_leaf": 20, "l2_regularization": 1.0}
GBDT_GRID = {"pca_dim": [24, 48, 96], "learning_rate": [0.03, 0.05, 0.1],
             "max_leaf_nodes": [7, 15, 31], "min_samples_leaf": [10, 20, 40]}


def inner_split(n: int, seed: int, frac: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) index split used for early stopping and tuning."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * frac))) if n > 4 else 1
    return order[n_val:], order[:n_val]


class Predictor:
    """Common state: `config` (JSON-ready dict) and `arrays` (name → numpy array)."""

    kind = "base"
    defaults: dict = {}
    grid: dict = {}

    def __init__(self, config: dict, arrays: dict[str, np.ndarray]):
        self.config, self.arrays = config, arrays

    @classmethod
    def fit(cls, X: np.ndarray, Y: np.ndarray, hp: dict, seed: int, spec_cols: dict) -> "Predictor":
        """Train on features X (N, D) and scores Y (N, M) (NaN = missing)."""
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """P(correct), shape (N, M)."""
        raise NotImplementedError


class _NetPredictor(Predictor):
    """Shared save/load for the torch kinds: arrays are the state dict."""

    def _build(self):
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        if getattr(self, "_net", None) is None:
            import torch

            net = self._build()
            net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.arrays.items()})
            self._net = net.eval()
        return nets.predict_net(self._net, X)

    @classmethod
    def _fit_net(cls, net, X, Y, hp, seed) -> "Predictor":
        tr, va = inner_split(len(X), seed)
        net, val = nets.train_net(net, X[tr], Y[tr], X[va], Y[va], hp, seed)
        arrays = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
        pred = cls({"hp": hp, "in_dim": X.shape[1], "n_models": Y.shape[1], "val_loss": val}, arrays)
        pred._net = net
        return pred


class MLPPredictor(_NetPredictor):
    """The MLP: hidden layers with BatchNorm, ReLU and Dropout; a sigmoid per model."""

    kind, defaults, grid = "mlp", nets.MLP_DEFAULTS, nets.MLP_GRID

    def _build(self):
        hp = self.config["hp"]
        return nets.build_mlp(self.config["in_dim"], self.config["n_models"], hp["hidden_dims"], hp["dropout"])

    @classmethod
    def fit(cls, X, Y, hp, seed, spec_cols):
        import torch

        torch.manual_seed(seed)
        net = nets.build_mlp(X.shape[1], Y.shape[1], hp["hidden_dims"], hp["dropout"])
        nets.init_output_bias(net[-1].bias, Y)
        return cls._fit_net(net, X, Y, hp, seed)


class MFPredictor(_NetPredictor):
    """RouteLLM's matrix factorisation, one normalised embedding per model."""

    kind, defaults, grid = "mf", nets.MF_DEFAULTS, nets.MF_GRID

    def _build(self):
        return nets.build_mf(self.config["in_dim"], self.config["n_models"], self.config["hp"]["dim"])

    @classmethod
    def fit(cls, X, Y, hp, seed, spec_cols):
        import torch

        torch.manual_seed(seed)
        net = nets.build_mf(X.shape[1], Y.shape[1], hp["dim"])
        nets.init_output_bias(net.bias, Y)
        return cls._fit_net(net, X, Y, hp, seed)


class LinearPredictor(Predictor):
    """Per-model logistic regression on the features."""

    kind, defaults, grid = "linear", LINEAR_DEFAULTS, LINEAR_GRID

    @classmethod
    def fit(cls, X, Y, hp, seed, spec_cols):
        from sklearn.linear_model import LogisticRegression

        coef = np.zeros((Y.shape[1], X.shape[1]), dtype=np.float32)
        bias = np.zeros(Y.shape[1], dtype=np.float32)
        for j in range(Y.shape[1]):
            seen = ~np.isnan(Y[:, j])
            y = Y[seen, j] >= 0.5
            if y.all() or not y.any():
                rate = (y.sum() + 0.5) / (len(y) + 1.0)
                bias[j] = np.log(rate / (1 - rate))
                continue
            lr = LogisticRegression(C=float(hp["C"]), max_iter=2000).fit(X[seen], y)
            coef[j], bias[j] = lr.coef_[0], lr.intercept_[0]
        return cls({"hp": hp}, {"coef": coef, "bias": bias})

    def predict(self, X):
        z = np.asarray(X, np.float32) @ self.arrays["coef"].T + self.arrays["bias"][None, :]  # (N, M)
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def _unit_rows(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-8)


class KNNPredictor(Predictor):
    """Similarity-based: the smoothed mean correctness of the k nearest training prompts."""

    kind, defaults, grid = "knn", KNN_DEFAULTS, KNN_GRID

    @classmethod
    def fit(cls, X, Y, hp, seed, spec_cols):
        prior = np.nan_to_num(np.nanmean(Y, axis=0), nan=0.5)
        return cls({"hp": hp}, {"X": _unit_rows(X).astype(np.float32), "Y": Y.astype(np.float32),
                                "prior": prior.astype(np.float32)})

    def predict(self, X):
        k, alpha = int(self.config["hp"]["k"]), float(self.config["hp"]["alpha"])
        ref, Y, prior = self.arrays["X"], self.arrays["Y"], self.arrays["prior"]
        k = min(k, len(ref))
        sims = _unit_rows(np.asarray(X, np.float32)) @ ref.T  # (N, n_train)
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # (N, k)
        ys = Y[nearest]  # (N, k, M)
        seen = ~np.isnan(ys)
        total = np.where(seen, ys, 0).sum(axis=1) + alpha * prior  # (N, M)
        return (total / (seen.sum(axis=1) + alpha)).astype(np.float32)


class GBDTPredictor(Predictor):
    """HistGradientBoosting per model on PCA(features) + passthrough columns; trees exported."""

    kind, defaults, grid = "gbdt", GBDT_DEFAULTS, GBDT_GRID

    @classmethod
    def fit(cls, X, Y, hp, seed, spec_cols):
        passthrough = list(range(*spec_cols["shape"])) if spec_cols.get("shape") else []
        mean = X.mean(axis=0)
        centred = (X - mean).astype(np.float64)
        _, vecs = np.linalg.eigh(centred.T @ centred)  # (D, D), ascending eigenvalues
        comps = vecs[:, ::-1][:, : min(int(hp["pca_dim"]), X.shape[1])].T.astype(np.float32)  # (k, D)
        arrays = {"pca_mean": mean.astype(np.float32), "pca_components": comps}
        config = {"hp": hp, "passthrough": passthrough, "n_models": Y.shape[1]}
        pred = cls(config, arrays)
        Z = pred._project(X)
        for j in range(Y.shape[1]):
            arrays.update(_fit_one_gbdt(Z, Y[:, j], hp, seed, prefix=f"m{j}."))
        return pred

    def _project(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, np.float32)
        Z = (X - self.arrays["pca_mean"]) @ self.arrays["pca_components"].T  # (N, k)
        return np.hstack([Z, X[:, self.config["passthrough"]]]) if self.config["passthrough"] else Z

    def predict(self, X):
        Z = self._project(X)
        cols = [_tree_raw(Z, self.arrays, f"m{j}.") for j in range(self.config["n_models"])]
        return (1.0 / (1.0 + np.exp(-np.stack(cols, axis=1)))).astype(np.float32)  # (N, M)


def _fit_one_gbdt(Z: np.ndarray, y: np.ndarray, hp: dict, seed: int, prefix: str) -> dict:
    """Fit one model's booster and export its trees to flat arrays under `prefix`."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    seen = ~np.isnan(y)
    labels = (y[seen] >= 0.5).astype(int)
    rate = float(np.clip(labels.mean() if len(labels) else 0.5, 1e-3, 1 - 1e-3))
    if len(np.unique(labels)) < 2 or len(labels) < 10:  # nothing to split on: a constant
        return _export_trees([], np.log(rate / (1 - rate)), prefix)
    clf = HistGradientBoostingClassifier(
        max_iter=int(hp["max_iter"]), learning_rate=float(hp["learning_rate"]),
        max_leaf_nodes=int(hp["max_leaf_nodes"]), min_samples_leaf=int(hp["min_samples_leaf"]),
        l2_regularization=float(hp["l2_regularization"]), early_stopping=len(labels) >= 100,
        validation_fraction=0.15, n_iter_no_change=10, random_state=seed)
    with threadpool_limits(1):  # OpenMP threads only contend on small data; one is faster
        clf.fit(Z[seen], labels)
    trees = [p[0].nodes for p in clf._predictors]  # binary: one tree per iteration
    return _export_trees(trees, float(np.ravel(clf._baseline_prediction)[0]), prefix)


def _export_trees(trees: list, baseline: float, prefix: str) -> dict:
    """Concatenate tree node tables into flat arrays; child indices become global."""
    if not trees:
        trees = [np.zeros(1, dtype=[("value", "f8"), ("feature_idx", "i8"), ("num_threshold", "f8"),
                                    ("missing_go_to_left", "u1"), ("left", "u4"), ("right", "u4"),
                                    ("is_leaf", "u1")])]
        trees[0]["is_leaf"] = 1
    offsets = np.cumsum([0] + [len(t) for t in trees[:-1]])
    cat = np.concatenate([t[["value", "feature_idx", "num_threshold", "missing_go_to_left",
                             "left", "right", "is_leaf"]] for t in trees])
    shift = np.repeat(offsets, [len(t) for t in trees])
    return {prefix + "value": cat["value"].astype(np.float64),
            prefix + "feature": cat["feature_idx"].astype(np.int64),
            prefix + "threshold": cat["num_threshold"].astype(np.float64),
            prefix + "missing_left": cat["missing_go_to_left"].astype(np.uint8),
            prefix + "left": (cat["left"].astype(np.int64) + shift),
            prefix + "right": (cat["right"].astype(np.int64) + shift),
            prefix + "is_leaf": cat["is_leaf"].astype(np.uint8),
            prefix + "roots": offsets.astype(np.int64),
            prefix + "baseline": np.array([baseline], dtype=np.float64)}


def _tree_raw(Z: np.ndarray, a: dict, prefix: str) -> np.ndarray:
    """Sum of leaf values over all trees plus the baseline (the booster's raw score), (N,)."""
    roots = a[prefix + "roots"]
    node = np.broadcast_to(roots, (len(Z), len(roots))).copy()  # (N, T)
    is_leaf, feat, thr = a[prefix + "is_leaf"], a[prefix + "feature"], a[prefix + "threshold"]
    rows = np.arange(len(Z))[:, None]
    for _ in range(64):  # deeper than any tree with ≤ 31 leaves can be
        leaf = is_leaf[node].astype(bool)
        if leaf.all():
            break
        x = Z[rows, feat[node]]
        left = np.where(np.isnan(x), a[prefix + "missing_left"][node] == 1, x <= thr[node])
        node = np.where(leaf, node, np.where(left, a[prefix + "left"][node], a[prefix + "right"][node]))
    return a[prefix + "baseline"][0] + a[prefix + "value"][node].sum(axis=1)


PREDICTORS: dict[str, type[Predictor]] = {
    cls.kind: cls for cls in (MLPPredictor, LinearPredictor, KNNPredictor, GBDTPredictor, MFPredictor)}


def predictor_class(kind: str) -> type[Predictor]:
    """The predictor class for a kind name, with a clear error for an unknown one."""
    if kind not in PREDICTORS:
        raise CadreError(f"unknown learned-router kind {kind!r}; choose one of {sorted(PREDICTORS)}")
    return PREDICTORS[kind]


def validation_logloss(P: np.ndarray, Y: np.ndarray) -> float:
    """Mean binary log loss over observed entries (used to compare tuning trials)."""
    seen = ~np.isnan(Y)
    p = np.clip(P[seen], 1e-6, 1 - 1e-6)
    y = Y[seen]
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def random_search(kind: str, X: np.ndarray, Y: np.ndarray, seed: int, spec_cols: dict,
                  trials: int = 8, progress=None) -> tuple[dict, list[dict]]:
    """Seeded random search over the kind's grid; returns (best hp, all trials)."""
    cls = predictor_class(kind)
    rng = np.random.default_rng(seed)
    tr, va = inner_split(len(X), seed + 1, frac=0.2)
    seen, results = set(), []
    for _ in range(trials * 4):
        if len(results) >= trials:
            break
        hp = {**cls.defaults, **{k: v[rng.integers(len(v))] for k, v in cls.grid.items()}}
        key = repr(sorted(hp.items()))
        if key in seen:
            continue
        seen.add(key)
        pred = cls.fit(X[tr], Y[tr], hp, seed, spec_cols)
        results.append({"hp": hp, "val_logloss": validation_logloss(pred.predict(X[va]), Y[va])})
        if progress:
            progress(results[-1])
    best = min(results, key=lambda r: r["val_logloss"])
    return best["hp"], results
