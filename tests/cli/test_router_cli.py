"""`cadre router train/eval/calibrate` and `cadre route` through the real CLI app."""
from __future__ import annotations

import csv
import json

import pytest
import torch
from typer.testing import CliRunner

from cadre.cli.main import app
from tests.conftest import _write_router_data

torch.set_num_threads(1)
runner = CliRunner()

ROWS = {
    "weather": ["will it rain tomorrow", "forecast for the weekend", "is it sunny outside", "how cold is it today",
                "do I need an umbrella", "will it snow tonight", "is it windy", "how hot will it be"],
    "music": ["play some jazz", "put on my workout playlist", "skip this song", "turn the music up",
              "play the new adele album", "shuffle my songs", "next track", "play relaxing piano"],
}
OOS = ["who wrote hamlet", "book a dentist", "capital of peru"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("router_cli")
    rows = [(t, k) for k, ts in ROWS.items() for t in ts]
    train = _csv(root / "train.csv", rows[::2] + rows[1::4] + [(t, "oos") for t in OOS[:2]])
    test = _csv(root / "test.csv", rows[3::4] + [(OOS[2], "out_of_scope")])
    return root, train, test


def test_embedding_train_eval_route(files):
    root, train, test = files
    out = root / "emb"
    result = run("router", "train", "--kind", "embedding", "--data", train, "--val", test,
                 "--target-precision", "0.9", "--output", out)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "cadre.json").read_text())["router_kind"] == "embedding"
    result = run("router", "eval", out, "--data", test, "--json", "--latency-samples", "5")
    report = json.loads(result.output)
    for key in ("accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "p50_ms", "p99_ms", "throughput_per_s"):
        assert report[key] is not None, key
    assert report["in_scope_accuracy"] >= 0.5
    result = run("route", out, "play something by queen", "--json")
    choice = json.loads(result.output)
    assert choice["name"] == "music" and choice["reason"].startswith("embedding music")


def test_keyword_train_from_data_and_bundled_rules(files):
    root, train, _ = files
    result = run("router", "train", "--kind", "keyword", "--data", train, "--output", root / "kw",
                 "--default-route", "weather")
    assert result.exit_code == 0, result.output
    result = run("route", root / "kw", "zzz qqq")
    assert result.output.startswith("weather\t") and "no rule matched → default weather" in result.output
    result = run("router", "train", "--kind", "keyword", "--output", root / "kw10")
    assert result.exit_code == 0 and "11 routes" in result.output  # 10 intents + out_of_scope
    assert run("route", root / "kw10", "paint a red fox").output.startswith("image\t")


def test_nano_train_route_with_onnx(tmp_path):
    data = _write_router_data(tmp_path / "router.txt", per_label=12)
    out = tmp_path / "nano"
    result = run("router", "train", "--kind", "nano", "--data", data, "--output", out, "--epochs", "3",
                 "--target-precision", "0.5", "--default-route", "chat", "--quiet")
    assert result.exit_code == 0, result.output
    assert (out / "model.onnx").is_file()
    meta = json.loads((out / "cadre.json").read_text())
    assert meta["router_kind"] == "nano" and meta["default_route"] == "chat" and meta["thresholds"]
    choice = json.loads(run("route", out, "word " * 600, "--json").output)
    assert "input truncated to 256 tokens" in choice["reason"]


@pytest.mark.parametrize("case", ["missing", "corrupt", "unknown_route", "single_class", "bad_kind"])
def test_bad_input_is_one_line_error(files, tmp_path, case):
    root, train, test = files
    if case == "missing":
        result = run("route", tmp_path / "nope", "hi")
    elif case == "corrupt":
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "cadre.json").write_text("{oops")
        result = run("router", "eval", tmp_path / "bad", "--data", test)
    elif case == "unknown_route":
        run("router", "train", "--kind", "keyword", "--output", tmp_path / "kw")
        (tmp_path / "t.yaml").write_text("routes:\n  - name: teleport\n    threshold: 0.5\n")
        result = run("route", tmp_path / "kw", "hi", "--thresholds", tmp_path / "t.yaml")
    elif case == "single_class":
        one = _csv(tmp_path / "one.csv", [("hello", "chat"), ("hi there", "chat"), ("hey", "chat")])
        result = run("router", "train", "--kind", "embedding", "--data", one, "--output", tmp_path / "o")
    else:
        result = run("router", "train", "--kind", "psychic", "--data", train, "--output", tmp_path / "o")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert not (tmp_path / "o").exists()


def test_nano_distilled_from_a_teacher_router(files, tmp_path):
    root, train, test = files
    teacher = tmp_path / "teacher"
    assert run("router", "train", "--kind", "embedding", "--data", train, "--output", teacher).exit_code == 0
    extra = tmp_path / "extra.txt"
    extra.write_text("is it foggy this morning\nplay my road trip mix\nwill there be thunder\n")
    out = tmp_path / "student"
    result = run("router", "train", "--kind", "nano", "--data", train, "--distill-from", teacher,
                 "--unlabeled", extra, "--epochs", "2", "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "cadre.json").read_text())
    assert meta["recipe"]["name"] == "distill" and meta["unlabeled_examples"] == 3
    assert meta["router_kind"] == "nano" and (out / "model.onnx").is_file()
    assert json.loads(run("route", out, "play some jazz", "--json").output)["name"] in ROWS.keys() | {"out_of_scope"}


def test_ensemble_kind_from_the_cli(files):
    root, train, test = files
    out = root / "ens"
    result = run("router", "train", "--kind", "ensemble", "--data", train, "--output", out)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "cadre.json").read_text())["router_kind"] == "ensemble"
    assert json.loads(run("route", out, "turn up the music", "--json").output)["name"] == "music"
