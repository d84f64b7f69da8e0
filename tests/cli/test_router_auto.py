"""`cadre router train --kind auto` (the default) through the real CLI in a subprocess, on a
slice of the bundled Banking77: the printed and saved candidates table, `router eval`
showing it, the threshold guard when there are no out-of-scope examples, bad input."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cadre.data.intents import load_banking77
from cadre.routing.intent.cascade import MAX_ESCALATED

CLASSES = ["card_arrival", "exchange_rate", "lost_or_stolen_card", "pin_blocked", "top_up_failed",
           "cash_withdrawal_charge"]


def cli(*args, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout)


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def banking_rows(split, per_class=None):
    rows, seen = [], {}
    for ex in load_banking77(split):
        if ex.label in CLASSES and (per_class is None or seen.get(ex.label, 0) < per_class):
            seen[ex.label] = seen.get(ex.label, 0) + 1
            rows.append((ex.question, ex.label))
    return rows


@pytest.fixture(scope="module")
def banking(tmp_path_factory):
    root = tmp_path_factory.mktemp("auto")
    return root, write_csv(root / "train.csv", banking_rows("train", 40)), write_csv(root / "test.csv",
                                                                                     banking_rows("test"))


def test_auto_is_the_default_and_eval_shows_its_table(banking):
    root, train, test = banking
    out = root / "router"
    result = cli("router", "train", "--data", train, "--output", out, "--candidates", "tfidf,fast,nano",
                 "--epochs", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "← chosen" in result.stdout and "saved auto router (" in result.stdout
    meta = json.loads((out / "cadre.json").read_text())
    auto = meta["auto"]
    rows = {row["kind"]: row for row in auto["table"]}
    assert set(rows) == {"tfidf", "fast"} and rows["tfidf"]["folds"] == 5
    # nano's teacher would be fast, which is within the budget already: it cannot win, so it is not trained
    assert any(n.startswith("nano not trained: a distilled student does not beat its teacher (fast")
               for n in auto["notes"])
    fits = [r for r in rows.values() if r["within_budget"]]
    if fits:  # the rule: the most accurate candidate within the latency budget
        assert rows[auto["chosen"]]["cv_accuracy"] == max(r["cv_accuracy"] for r in fits)
    assert 0.0 <= rows["tfidf"]["cv_spread"] < 0.2 and rows["tfidf"]["cv_accuracy"] > 0.6
    result = cli("router", "eval", out, "--data", test, "--latency-samples", "10")
    assert result.returncode == 0, result.stderr
    assert "chosen by --kind auto" in result.stdout and f"{auto['chosen']:10}" in result.stdout
    accuracy = next(float(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("accuracy "))
    assert accuracy > 0.75  # held-out Banking77 test rows of these classes


def test_guard_threshold_costs_little_in_scope_accuracy(banking):
    """No out-of-scope examples and no target: one pooled threshold that rejects at most
    0.25% of in-scope texts out of fold, and on held-out test data costs under a point."""
    from cadre.routing import load_router
    from cadre.routing.intent.calibration import apply_thresholds

    root, train, test = banking
    out = root / "guarded"
    result = cli("router", "train", "--kind", "auto", "--data", train, "--output", out, "--candidates", "tfidf")
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "cadre.json").read_text())
    rule = meta["auto"]["thresholds"]
    assert rule["rule"].startswith("guard") and rule["in_scope_drop"] <= 0.0025 and rule["threshold"] > 0
    router = load_router(out)
    rows = banking_rows("test")
    probs = router.score_batch([t for t, _ in rows])
    gold = [g for _, g in rows]
    with_t = sum(p == g for p, g in zip(apply_thresholds(probs, router.labels, router.thresholds), gold))
    without = sum(p == g for p, g in zip(apply_thresholds(probs, router.labels, {}), gold))
    assert 0 <= (without - with_t) / len(gold) <= 0.01


def test_out_of_scope_examples_keep_todays_rule(tmp_path):
    rows = banking_rows("train", 15) + [(t, "oos") for t in ["who won the world cup", "what is the capital of peru",
                                                             "tell me a joke", "how tall is everest"] * 3]
    out = tmp_path / "r"
    result = cli("router", "train", "--data", write_csv(tmp_path / "t.csv", rows), "--output", out,
                 "--candidates", "tfidf")
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "cadre.json").read_text())
    assert meta["auto"]["thresholds"]["rule"].startswith("none")
    assert "out_of_scope" in meta["labels"]


def test_bad_input(tmp_path):
    one_class = write_csv(tmp_path / "one.csv", [("hi", "a"), ("hello", "a"), ("hey", "a")])
    result = cli("router", "train", "--data", one_class, "--output", tmp_path / "o", "--candidates", "tfidf")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "single class" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()
    rows = banking_rows("train", 3) + [("where is my lonely card", "lonely_card")]
    result = cli("router", "train", "--data", write_csv(tmp_path / "few.csv", rows), "--output", tmp_path / "f",
                 "--candidates", "tfidf")
    assert result.returncode == 0, result.stderr
    assert "warning: class 'lonely_card' has only 1 example" in result.stderr
    assert "folds reduced from 5 to 3" in result.stderr
    assert json.loads((tmp_path / "f" / "cadre.json").read_text())["auto"]["folds"] == 3


def test_val_replaces_cross_validation_and_the_reports_say_so(banking):
    """With --val the table, the footer, cadre.json and `router eval` say the candidates
    were scored on --val: no "± 0.0000", no "folds 1", no "2-fold cross-validation"."""
    root, train, test = banking
    out = root / "on_val"
    result = cli("router", "train", "--data", train, "--val", test, "--output", out, "--candidates", "tfidf,fast")
    assert result.returncode == 0, result.stderr
    auto = json.loads((out / "cadre.json").read_text())["auto"]
    n_val = len(banking_rows("test"))
    assert auto["scored_on"] == "--val" and auto["val_examples"] == n_val and "folds" not in auto
    assert all("val_accuracy" in r and "cv_accuracy" not in r and "folds" not in r for r in auto["table"])
    assert "candidates scored on --val" in auto["notes"][0]
    assert auto["thresholds"]["rule"].endswith("on --val") and auto["thresholds"]["in_scope_drop"] <= 0.0025
    evaluated = cli("router", "eval", out, "--data", test, "--latency-samples", "5")
    for text in (result.stdout, evaluated.stdout):
        assert "val accuracy" in text and f"candidates scored on --val ({n_val} examples)" in text
        assert "cv accuracy" not in text and "± 0.0000" not in text and "fold cross-validation" not in text
    assert "scored on --val" in evaluated.stdout.split("chosen by --kind auto")[1].splitlines()[0]


def test_cascade_sends_only_the_unsure_texts_to_the_ensemble(banking):
    root, train, test = banking
    out = root / "cascade"
    result = cli("router", "train", "--kind", "cascade", "--data", train, "--output", out)
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "cadre.json").read_text())
    assert meta["router_kind"] == "cascade" and 0 <= meta["escalated_share"] <= MAX_ESCALATED
    assert (out / "fast" / "cadre.json").is_file() and (out / "ensemble" / "cadre.json").is_file()

    from cadre.routing import load_router
    from cadre.routing.intent.cascade import top_gap

    router = load_router(out)
    texts = [row[0] for row in banking_rows("test")]
    fast, slow, mixed = (np.asarray(r.score_batch(texts)) for r in (router.fast, router.slow, router))
    unsure = top_gap(fast) < router.escalate_below
    assert np.allclose(mixed[unsure], slow[unsure]) and np.allclose(mixed[~unsure], fast[~unsure])
    evaluated = cli("router", "eval", out, "--data", test)
    assert evaluated.returncode == 0, evaluated.stderr
    (out / "cadre.json").write_text(json.dumps({**meta, "escalate_below": "x"}))
    broken = cli("router", "eval", out, "--data", test)
    assert broken.returncode != 0 and "escalate_below" in broken.stderr and "Traceback" not in broken.stderr


def test_eval_reports_cpu_time_and_no_oos_precision_without_oos_data(banking):
    """`router eval` on data with no out-of-scope example: oos_precision is null (not 0.0)
    even when thresholds reject texts; CPU time is reported beside wall time."""
    root, train, test = banking
    out = root / "for_eval"
    assert cli("router", "train", "--kind", "tfidf", "--data", train, "--output", out).returncode == 0
    strict = root / "strict.yaml"
    strict.write_text("\n".join(f"{c}: 0.999" for c in CLASSES) + "\n")  # rejects most texts
    result = cli("router", "eval", out, "--data", test, "--thresholds", strict, "--json", "--latency-samples", "20")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["oos_examples"] == 0 and report["oos_recall"] is None and report["oos_precision"] is None
    assert report["in_scope_accuracy"] < 0.9  # texts were rejected: the old code called that precision 0.0
    assert report["batch_cpu_s"] > 0 and report["batch_wall_s"] > 0 and report["throughput_per_cpu_s"] > 0
    assert 0 < report["p50_cpu_ms"] <= report["p99_cpu_ms"] and report["p50_ms"] > 0
    text = cli("router", "eval", out, "--data", test, "--latency-samples", "5").stdout
    assert "p50_cpu_ms" in text and "batch_cpu_s" in text and "oos_precision      None" in text


def test_on_large_data_the_nano_is_not_trained_without_teacher_probabilities(tmp_path):
    # from 4,000 rows one fold is scored: the teacher has no probabilities for the nano's training rows
    rows = [(ex.question, ex.label) for ex in load_banking77("train")[:4000]]
    out = tmp_path / "router"
    result = cli("router", "train", "--data", write_csv(tmp_path / "train.csv", rows), "--output", out,
                 "--candidates", "fast,nano", "--max-latency-ms", "0.001", "--quiet")
    assert result.returncode == 0, result.stderr
    auto = json.loads((out / "cadre.json").read_text())["auto"]
    assert [row["kind"] for row in auto["table"]] == ["fast"] and auto["table"][0]["folds"] == 1
    assert any(n.startswith("nano not trained: fast was scored on one held-out fold") for n in auto["notes"])
