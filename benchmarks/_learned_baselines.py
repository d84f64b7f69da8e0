"""Baselines and the cadre runner for benchmarks/learned_router.py.

Every function scores on every test row, a missing score being unknown for that model
only (a choice is judged where its model has a score, a single model on its known rows),
and picks operating points on the train table only: "match" = cheapest point whose train /
validation accuracy reaches the strongest single model's, "half" = the point that spends
most of half that model's train / validation mean cost without being measurably (one
standard error) less accurate than the best point within it (`policy.pick_point`).
"""
from __future__ import annotations

import numpy as np

from cadre.routing.learned import report as rr
from cadre.routing.learned import policy
from cadre.routing.learned.router import LearnedRouter, fit_learned
from cadre.routing.learned.features import FeatureSpec, featurize
from cadre.routing.learned.evaluate import evaluate


def arrays(table):
    """(Y, C, rows) on every row; a missing cost is the model's mean known cost."""
    Y, C = table.score_matrix(), table.cost_matrix()
    with np.errstate(all="ignore"):
        C = np.where(np.isnan(C), np.nanmean(C, axis=0)[None, :], C)
    return Y, C, np.ones(len(Y), dtype=bool)


def features(table, text: str = "static", cache=True):
    """cadre's default features for a table (`text`: static or minilm), and the CPU
    seconds they took (0 when read from the cache)."""
    import resource

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    c0 = cpu()
    X = featurize(table.prompts, spec=FeatureSpec(text=text), cache=cache, progress=False)
    return X, cpu() - c0


def test_singles(test) -> dict:
    Y, C, _ = arrays(test)
    return rr.single_models(Y, C, test.models)


def oracle_point(test) -> tuple[float, float]:
    Y, C, _ = arrays(test)
    return rr.oracle(Y, C)


def zero_router(singles: dict) -> dict:
    """Random mixes of single models: the hull of their points (no operating point)."""
    return rr.curve_summary(list(singles.values()), singles)


def _strong(train) -> tuple[int, float, float]:
    """Index, train accuracy and train mean cost of the most accurate single model on train."""
    Y, C, _ = arrays(train)
    accs = np.nanmean(Y, axis=0)
    j = int(np.nanargmax(accs))
    return j, float(accs[j]), float(C[:, j].mean())


def _ops(val_points: list[dict], train) -> dict:
    """The two operating points picked on train-side points."""
    _, acc, cost = _strong(train)
    return {"match": policy.pick_point(val_points, target_quality=acc),
            "half": policy.pick_point(val_points, budget=0.5 * cost)}


def _score_curve(choose, test_P, test_Y, test_C, ops: dict, singles: dict):
    """Test results at both operating points plus the full curve's AIQ / APGR."""
    curve = []
    for lam in policy.LAMBDA_GRID:
        acc, cost = policy.outcome(choose(test_P, lam), test_Y, test_C)
        curve.append((cost, acc))
    res = {k: policy.outcome(choose(test_P, op["param"]), test_Y, test_C) for k, op in ops.items()}
    res["half_reached"] = ops["half"]["reached"]
    res.update(rr.curve_summary(curve, singles))
    return res, curve


def task_router(train, test):
    """Per task (known from the `task` column), the model maximising train accuracy − λ·cost."""
    Ytr, Ctr, rtr = arrays(train)
    Yte, Cte, rte = arrays(test)
    ttr = np.array(train.column("task", "all"))[rtr]
    tte = np.array(test.column("task", "all"))[rte]
    tasks = sorted(set(ttr))
    acc = np.array([np.nan_to_num(np.nanmean(Ytr[ttr == t], axis=0)) for t in tasks])  # (T, M)
    cost = np.array([Ctr[ttr == t].mean(axis=0) for t in tasks])
    scale = float(Ctr.mean(axis=0).max())

    def choose(task_ids, lam):
        pick = (acc - lam * cost / scale).argmax(axis=1)  # (T,)
        return pick[task_ids]

    idx_tr = np.array([tasks.index(t) for t in ttr])
    idx_te = np.array([tasks.index(t) if t in tasks else 0 for t in tte])
    val = [dict(zip(("accuracy", "cost"), policy.outcome(choose(idx_tr, lam), Ytr, Ctr)),
                param=lam, rows=policy.judged(choose(idx_tr, lam), Ytr))
           for lam in policy.LAMBDA_GRID]
    return _score_curve(choose, idx_te, Yte, Cte, _ops(val, train), test_singles(test))


def tfidf_knn(train, test, k: int = 20, folds: int = 5):
    """TF-IDF (word 1-2 grams) kNN, mean correctness of 20 neighbours, utility rule."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    Ytr, Ctr, rtr = arrays(train)
    Yte, Cte, rte = arrays(test)
    ptr = [p for p, keep in zip(train.prompts, rtr) if keep]
    pte = [p for p, keep in zip(test.prompts, rte) if keep]
    costs = Ctr.mean(axis=0)
    scale = float(costs.max())

    def knn(fit_p, fit_y, query_p):
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit(fit_p)
        sims = (vec.transform(query_p) @ vec.transform(fit_p).T).toarray()  # (Q, F)
        near = np.argsort(-sims, axis=1)[:, :k]
        with np.errstate(all="ignore"):
            return np.nan_to_num(np.nanmean(fit_y[near], axis=1), nan=0.0)  # (Q, M)

    ids = np.random.default_rng(0).permutation(len(ptr)) % folds
    oof = np.zeros_like(Ytr)
    for f in range(folds):
        oof[ids == f] = knn([p for p, i in zip(ptr, ids) if i != f], Ytr[ids != f],
                            [p for p, i in zip(ptr, ids) if i == f])

    def choose(P, lam):
        return policy.choose_utility(P, costs, lam, scale)

    val = [dict(zip(("accuracy", "cost"), policy.outcome(choose(oof, lam), Ytr, Ctr)),
                param=lam, rows=policy.judged(choose(oof, lam), Ytr))
           for lam in policy.LAMBDA_GRID]
    return _score_curve(choose, knn(ptr, Ytr, pte), Yte, Cte, _ops(val, train), test_singles(test))


def cadre_router(kind: str, train, test, X_tr, X_te, out, hp=None, seed: int = 0, text: str = "static"):
    """Fit cadre's learned router; score it at both operating points (picked on validation)."""
    fit_learned(train, out, kind=kind, features=X_tr, seed=seed, hp=hp, spec=FeatureSpec(text=text))
    _, _, strong_cost = _strong(train)
    res = {}
    for key, kw in (("match", {}), ("half", {"budget": 0.5 * strong_cost})):
        router = LearnedRouter(out, **kw)
        report = evaluate(router, test, features=X_te)
        res[key] = (report["accuracy"], report["mean_cost"])
    res["half_reached"] = router.operating_point["reached"]
    res["half_all_rows"] = all_rows_point(router, test, X_te)
    res.update({"aiq": report["aiq"], "apgr": report["apgr"], "judged": report["judged_rows"]})
    return res, [(p["cost"], p["accuracy"]) for p in report["curve"]]


def all_rows_point(router, test, X_te) -> tuple[float, float]:
    """(accuracy, mean cost) over every test row, a missing score counting as wrong (the
    issue's convention for its GPT-4 reference); a missing cost is the router's expected one."""
    P, E = router.predict_arrays(X_te, test.prompts)
    choice = router.choose(P, E)
    Y, C = test.score_matrix(), test.cost_matrix()
    rows = np.arange(len(choice))
    y, c = Y[rows, choice], C[rows, choice]
    return float(np.nan_to_num(y, nan=0.0).mean()), float(np.where(np.isnan(c), E[rows, choice], c).mean())


def strong_all_rows(test, name: str) -> tuple[float, float]:
    """A single model's accuracy over every test row (missing = wrong) and its mean known cost."""
    j = test.models.index(name)
    y, c = test.score_matrix()[:, j], test.cost_matrix()[:, j]
    return float(np.nan_to_num(y, nan=0.0).mean()), float(np.nanmean(c))
