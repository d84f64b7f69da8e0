import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cadre.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

QA = "\n\n".join(f"Q: {verb} {thing} {i}\nA: [E:tool]{label}"
                 for i in range(6) for label, verb in (("image", "draw"), ("chat", "hello"))
                 for thing in ("a dog", "the sea")) + "\n"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "router.txt"
    path.write_text(QA)
    return path


@pytest.mark.parametrize("content, message", [
    (None, "data file not found"),
    ("", "data file is empty"),
    ("A: [E:tool]chat\n", "router.txt:1: A: without a Q:"),
    (b"Q: caf\xe9\nA: x\n", "not valid UTF-8"),
])
def test_bad_data_is_one_line_exit_2_and_writes_nothing(tmp_path, content, message):
    path = tmp_path / "router.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = run("train", "--type", "router", "--data", path, "--output", tmp_path / "out", "--quiet")
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_preset_lists_valid_ones(tmp_path, data):
    result = run("train", "--type", "router", "--data", data, "--model-size", "enormous", "--output", tmp_path / "o")
    assert result.exit_code == 2 and "valid presets: nano, micro, tiny" in result.output


def test_train_eval_json_and_generate(tmp_path, data):
    out = tmp_path / "r"
    result = run("train", "--type", "router", "--data", data, "--epochs", "2", "--output", out, "--quiet", "--lr", "0.003")
    assert result.exit_code == 0, result.output
    assert "only 24 pairs" in result.output  # the few-pairs warning, one line
    result = run("eval", out, "--data", data, "--json")
    report = json.loads(result.stdout)
    assert report["examples"] == 24 and set(report["per_class"]) <= {"chat", "image"}
    assert len(report["confusion"]) == 2 and 0.0 <= report["accuracy"] <= 1.0
    result = run("generate", out, "hello")
    assert result.exit_code == 2 and "is a router" in result.output


def test_corrupt_checkpoint_is_a_clear_error(tmp_path, data):
    out = tmp_path / "r"
    assert run("train", "--type", "router", "--data", data, "--epochs", "1", "--output", out, "--quiet").exit_code == 0
    weights = out / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated
    result = run("eval", out, "--data", data)
    assert result.exit_code == 2 and "corrupt or truncated safetensors" in result.output
    (out / "cadre.json").write_text("{not json")
    result = run("eval", out, "--data", data)
    assert result.exit_code == 2 and "corrupt metadata" in result.output


def test_seed_script_takes_the_seed_flags(tmp_path, data):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_specialized_model.py"), "--type", "router",
                             "--data", str(data), "--model-size", "nano", "--epochs", "1", "--batch-size", "8",
                             "--lr", "3e-4", "--device", "cpu", "--output", str(tmp_path / "seed"), "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "seed" / "cadre.json").is_file()


def test_every_verb_has_help():
    for verb in ("train", "eval", "generate", "presets", "tokenizer"):
        result = run(verb, "--help")
        assert result.exit_code == 0 and "Usage" in result.output
