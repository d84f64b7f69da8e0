"""The learned router on a small synthetic routing table, with real MiniLM features.

Three models: `alpha` (cheapest) answers math-looking prompts, `beta` answers the others,
`gamma` (dearest) answers everything. A good router sends math to alpha and the rest to
beta, matching gamma's accuracy at a fraction of its cost.
"""
from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from cadre.data.routing_tables import read_routing_table
from cadre.errors import CadreError
from cadre.routing.learned import policy
from cadre.routing.loading import load_router
from cadre.routing.learned.router import LearnedRouter, fit_learned
from cadre.routing.learned.features import FeatureSpec, featurize, focus_text
from cadre.routing.learned.evaluate import evaluate

COSTS = {"alpha": 0.001, "beta": 0.002, "gamma": 0.02}
MATH = ["What is {a} plus {b}?", "Compute {a} times {b}.", "Solve for x: {a}x + {b} = {c}.",
        "Calculate {a} divided by {b}.", "What is the sum of {a}, {b} and {c}?"]
OTHER = ["Write a short poem about {t}.", "Describe the history of {t}.", "Tell me a story about {t}.",
         "Why do people enjoy {t}?", "Summarize a novel about {t}."]
THINGS = ["the sea", "old castles", "jazz music", "a lonely robot", "autumn leaves", "city gardens",
          "mountain trains", "a lost cat", "ancient Rome", "coffee shops"]
HP = {"mlp": {"hidden_dims": [64, 32], "epochs": 40, "patience": 8, "batch_size": 16},
      "mf": {"dim": 32, "epochs": 40, "patience": 8, "batch_size": 16},
      "gbdt": {"min_samples_leaf": 5, "max_iter": 40, "pca_dim": 8}, "knn": {"k": 7}, "linear": {"C": 1.0}}


def _rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        is_math = i % 2 == 0
        tpl = rng.choice(MATH if is_math else OTHER)
        prompt = tpl.format(a=rng.randint(2, 99), b=rng.randint(2, 99), c=rng.randint(2, 99), t=rng.choice(THINGS))
        rows.append({"prompt": prompt, "model_scores": {"alpha": int(is_math), "beta": int(not is_math), "gamma": 1},
                     "model_costs": COSTS, "is_math": is_math})
    return rows


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("learned")
    train = _write(root / "train.jsonl", _rows(64, 0))
    test_rows = _rows(24, 1) + [{"prompt": "", "model_scores": {"alpha": 1}},
                                {"prompt": "What is 2 plus 2?", "model_scores": {"alpha": None, "beta": 0, "gamma": 1}}]
    test = _write(root / "test.jsonl", test_rows)
    return {"root": root, "train": train, "test": test, "cache": root / "cache"}


@pytest.fixture(scope="module")
def artifacts(tables):
    out = {}
    table = read_routing_table(tables["train"])
    for kind in ("mlp", "linear", "knn", "gbdt", "mf"):
        out[kind] = tables["root"] / f"router_{kind}"
        fit_learned(table, out[kind], kind=kind, folds=3, hp=HP[kind], cache=tables["cache"], seed=0)
    return out


def _auc_alpha(router, tables):
    table = read_routing_table(tables["test"], router.labels)
    P = router.score_batch(table.prompts)
    truth = np.array([r.extra.get("is_math", False) for r in table.rows])
    return roc_auc_score(truth, P[:, router.labels.index("alpha")]), table


@pytest.mark.parametrize("kind", ["mlp", "linear", "knn", "gbdt", "mf"])
def test_every_kind_learns_the_separable_signal(kind, artifacts, tables):
    from cadre.routing.loading import BUILTIN_MODULES

    assert "cadre.routing.learned.router" in BUILTIN_MODULES  # load_router finds the kind by itself
    router = load_router(artifacts[kind])
    assert isinstance(router, LearnedRouter) and router.labels == ["alpha", "beta", "gamma"]
    auc, table = _auc_alpha(router, tables)
    assert auc > 0.9, f"{kind}: alpha's P(correct) does not separate math prompts (AUC {auc:.2f})"
    report = evaluate(router, table, cache=tables["cache"])
    # the row without alpha's score is kept (unknown for alpha only) and counted
    assert report["eval_rows"] == 25 and report["coverage"]["complete_rows"] == 24
    assert report["coverage"]["known_rows_per_model"] == {"alpha": 24, "beta": 25, "gamma": 25}
    assert report["bad_rows"]["empty_prompts"] == 1
    if kind in ("mlp", "linear", "knn"):
        assert report["accuracy"] >= 0.85 and report["mean_cost"] < 0.5 * COSTS["gamma"]
        assert report["apgr"] > 0.5 and report["aiq"] > report["zero_router_aiq"]


def test_threshold_rule_picks_the_cheapest_model_above_threshold(artifacts):
    router = LearnedRouter(artifacts["mlp"], thresholds=0.6)
    choice = router.route("What is 41 plus 17?")
    assert choice.name == "alpha", choice
    assert choice.reason.startswith("cheapest with P≥thr: alpha") and "$0.001" in choice.reason
    strict = LearnedRouter(artifacts["mlp"], thresholds={"alpha": 1.01, "beta": 1.01, "gamma": 1.01})
    choice = strict.route("What is 41 plus 17?")
    assert "no model reaches its threshold" in choice.reason
    assert choice.name == max(choice.scores, key=choice.scores.get)
    with pytest.raises(CadreError, match="unknown route"):
        LearnedRouter(artifacts["mlp"], thresholds={"omega": 0.5})


def test_rules_on_arrays():
    P = np.array([[0.9, 0.8, 0.95], [0.2, 0.3, 0.4]])
    costs = np.array([3.0, 1.0, 2.0])
    assert policy.choose_threshold(P, costs, np.full(3, 0.7)).tolist() == [1, 2]
    assert policy.choose_threshold(P, costs, np.array([0.7, 0.85, 0.7])).tolist() == [2, 2]
    assert policy.choose_utility(P, costs, 0.0, 3.0).tolist() == [2, 2]
    assert policy.choose_utility(P, costs, 100.0, 3.0).tolist() == [1, 1]


def test_budget_calibration_respects_the_budget_on_validation():
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 4)) < np.array([0.4, 0.6, 0.7, 0.9])).astype(float)
    P = np.clip(Y * 0.5 + rng.random((300, 4)) * 0.5, 0, 1)
    costs = np.array([1.0, 2.0, 4.0, 10.0])
    C = np.tile(costs, (300, 1))
    for objective in ("utility", "threshold"):
        op = policy.calibrate(P, Y, C, costs, objective, budget=3.0)
        assert op["reached"] and op["val_cost"] <= 3.0
        choice = (policy.choose_utility(P, costs, op["param"], costs.max()) if objective == "utility"
                  else policy.choose_threshold(P, costs, np.full(4, op["param"])))
        assert policy.outcome(choice, Y, C)[1] <= 3.0


def test_fit_with_a_budget_records_it(tables):
    table = read_routing_table(tables["train"])
    meta = fit_learned(table, tables["root"] / "budget", kind="knn", folds=3, hp=HP["knn"],
                       cache=tables["cache"], budget=0.0015)
    op = meta["operating_point"]
    assert op["budget"] == 0.0015 and op["val_cost"] <= 0.0015
    assert "out-of-fold" in op["chosen_on"]


def test_foreign_or_damaged_artifacts_are_rejected(artifacts, tmp_path):
    import shutil

    for field, value, message in (("learned_format", 99, "learned-router format 99"),
                                  ("format_version", 7, "format version 7"),
                                  ("featurizer_version", 0, "featurizer version")):
        folder = tmp_path / field
        shutil.copytree(artifacts["knn"], folder)
        meta = json.loads((folder / "cadre.json").read_text())
        meta[field] = value
        (folder / "cadre.json").write_text(json.dumps(meta))
        with pytest.raises(CadreError, match=message):
            LearnedRouter(folder)
    folder = tmp_path / "truncated"
    shutil.copytree(artifacts["knn"], folder)
    data = (folder / "weights.safetensors").read_bytes()
    (folder / "weights.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CadreError, match="corrupt or truncated"):
        LearnedRouter(folder)


def test_focus_text_takes_the_last_question_block():
    prompt = "Q1\nA) x\nAnswer:\nA\n\nQ2 is a longer question about something?\nA) y\nB) z\nAnswer:"
    assert focus_text(prompt).startswith("Q2")
    assert focus_text("one block only") == "one block only"
    X = featurize([prompt, prompt + " "], cache=False)
    assert X.shape == (2, 256 * 2 + 12) and np.isfinite(X).all()  # static token vectors by default
    X = featurize([prompt, prompt + " "], spec=FeatureSpec(text="minilm"), cache=False)
    assert X.shape == (2, 384 * 2 + 12) and np.isfinite(X).all()


def test_cli_fit_and_eval_json(tables, monkeypatch):
    from cadre.cli.main import app

    monkeypatch.setenv("CADRE_CACHE", str(tables["cache"]))
    out = tables["root"] / "cli_router"
    runner = CliRunner()
    res = runner.invoke(app, ["router", "fit-learned", "--data", str(tables["train"]), "--output", str(out),
                              "--kind", "knn", "--folds", "3", "--tune", "--trials", "2", "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert "operating point" in res.output
    res = runner.invoke(app, ["router", "eval-learned", str(out), "--data", str(tables["test"]), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    for key in ("accuracy", "mean_cost", "oracle_accuracy", "aiq", "apgr"):
        assert isinstance(report[key], float)
    assert report["oracle_accuracy"] == 1.0 and report["bad_rows"]["empty_prompts"] == 1
    res = runner.invoke(app, ["router", "fit-learned", "--data", str(tables["train"]),
                              "--output", str(tables["root"] / "cli_forest"), "--kind", "forest"])
    assert res.exit_code == 2 and "unknown learned-router kind" in res.output


def test_stacked_kinds_and_repicking_the_operating_point(tables):
    table = read_routing_table(tables["train"])
    out = tables["root"] / "stacked"
    meta = fit_learned(table, out, kind="knn+mlp", folds=3, hp={"knn": HP["knn"], "mlp": HP["mlp"]},
                       cache=tables["cache"])
    assert meta["kinds"] == ["knn", "mlp"] and set(meta["hyperparameters"]) == {"knn", "mlp"}
    curve = meta["operating_point"]["validation_curve"]
    cheap = LearnedRouter(out, budget=0.0012)
    assert cheap.operating_point["val_cost"] <= 0.0012 and cheap.operating_point["budget"] == 0.0012
    rich = LearnedRouter(out, target_quality=1.0)
    reached = [p for p in curve if p["accuracy"] >= 1.0]
    if reached:
        assert rich.operating_point["val_cost"] == min(p["cost"] for p in reached)
    auc, _ = _auc_alpha(cheap, tables)
    assert auc > 0.9


def test_image_rows_use_efficientnet_features(tmp_path):
    import base64
    import io

    from PIL import Image

    def png(color):
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), color).save(buf, format="PNG")
        return base64.b64encode(buf.getvalue()).decode()

    rows = []
    for i in range(16):
        red = i % 2 == 0
        rows.append({"prompt": f"What is in this picture? ({i})", "images": [png((220, 20, 20) if red else (20, 20, 220))],
                     "model_scores": {"eye": int(red), "big": 1}, "model_costs": {"eye": 0.1, "big": 1.0}})
    rows.append({"prompt": "no picture here", "model_scores": {"eye": 0, "big": 1}})
    path = _write(tmp_path / "vision.jsonl", rows)
    table = read_routing_table(path)
    meta = fit_learned(table, tmp_path / "vision_router", kind="knn", folds=2, hp={"k": 3},
                       cache=tmp_path / "cache")
    assert meta["feature_spec"]["images"] is True
    router = LearnedRouter(tmp_path / "vision_router", thresholds=0.6)
    red = router.route("What is in this picture? (x)", images=[png((220, 20, 20))])
    blue = router.route("What is in this picture? (x)", images=[png((20, 20, 220))])
    assert red.scores["eye"] > blue.scores["eye"]
    assert red.name == "eye" and blue.name == "big"


def test_cli_uses_rows_with_holes_and_says_what_each_figure_covers(tables, monkeypatch):
    """A missing score is unknown for that model only: gamma is unscored on every third
    row, yet every row trains alpha and beta, chooses the operating point, and is scored."""
    from cadre.cli.main import app

    monkeypatch.setenv("CADRE_CACHE", str(tables["cache"]))
    root = tables["root"]

    def holes(rows):
        for i, r in enumerate(rows):
            if i % 3 == 0:
                r["model_scores"]["gamma"] = None
        return rows

    train = _write(root / "holes_train.jsonl", holes(_rows(64, 0)))
    test = _write(root / "holes_test.jsonl", holes(_rows(24, 1)))
    out = root / "holes_router"
    runner = CliRunner()
    res = runner.invoke(app, ["router", "fit-learned", "--data", str(train), "--output", str(out),
                              "--kind", "linear", "--folds", "3"])
    assert res.exit_code == 0, res.output
    assert "on out-of-fold predictions on 64 training rows × 3 models" in res.output  # not the 42 complete ones
    assert "64 rows × 3 models, 88.5% of scores known (42 rows complete" in res.output
    meta = json.loads((out / "cadre.json").read_text())
    assert meta["coverage"]["known_rows_per_model"] == {"alpha": 64, "beta": 64, "gamma": 42}
    assert meta["operating_point"]["best_single_model"] == {**meta["operating_point"]["best_single_model"],
                                                            "model": "gamma", "val_rows": 42}
    res = runner.invoke(app, ["router", "eval-learned", str(out), "--data", str(test)])
    assert res.exit_code == 0, res.output
    assert "24 rows × 3 models" in res.output and "(16 rows complete" in res.output
    res = runner.invoke(app, ["router", "eval-learned", str(out), "--data", str(test), "--json"])
    report = json.loads(res.stdout)
    assert report["eval_rows"] == 24 and report["coverage"]["known_rows_per_model"]["gamma"] == 16
    # the router sends math to alpha and the rest to beta, both always scored: every row is judged
    assert report["judged_rows"] == 24 and report["accuracy"] >= 0.85
    assert report["single_models"]["gamma"]["accuracy"] == 1.0
    res = runner.invoke(app, ["router", "fit-learned", "--data", str(train), "--output", str(root / "holes_omega"),
                              "--models", "alpha,beta,omega"])
    assert res.exit_code == 2 and "no score at all for model(s) ['omega']" in res.output
