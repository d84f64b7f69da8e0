"""Data-parallel LoRA training: a real `torchrun --nproc_per_node 2` run on the CPU (gloo)
through the CLI, against a single-process run of the same spec and seed; plus the
launch decisions, which need no processes."""
import json
import os
import subprocess
import sys
import time

import pytest
import torch
import yaml
from typer.testing import CliRunner

from cadre.cli.main import app
from cadre.errors import CadreError
from cadre.training.lora import distributed

def _spec(tmp_path, base, write_csv, **training):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    write_csv(data / "train.csv", 120, 1)
    write_csv(data / "test.csv", 20, 2)
    spec = {
        "name": "tiny", "task": "classification", "base": base,
        "dataset": {"path": str(data), "files": {"train": "train.csv", "test": "test.csv"}, "split": "files",
                    "columns": {"text": "sentence", "label": "label"},
                    "label_names": {"0": "negative", "1": "positive"}},
        "prompt": {"system": "", "template": "Review: {text}\nPositive or negative?"},
        "metrics": ["accuracy"],
        # no dropout: its masks fall on other rows when a batch is split, which would make
        # the two runs differ by more than rounding
        "lora": {"rank": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
        "training": {"batch_size": 7, "gradient_accumulation_steps": 2, "learning_rate": 1e-2,
                     "max_steps": 12, "warmup_ratio": 0.1, "max_length": 48, "eval_batch_size": 20,
                     "bf16": False, **training},  # fp32 on a GPU too, for the tight comparison
        "gates": {"metric": "accuracy", "finetuned_target": 0.0, "min_improvement": -1.0},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _cli(*args, env=None):
    """`python -m cadre.cli.main ...` in a fresh process (torchrun needs real processes)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    env.pop("WORLD_SIZE", None)
    return subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, args)], env=env, check=False,
                          capture_output=True, text=True, timeout=300)


def _adapter(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter" / "adapter_model.safetensors"))


def test_torchrun_two_processes_matches_one(tmp_path, tiny_base, sentiment_csv):
    spec = _spec(tmp_path, tiny_base, sentiment_csv)
    start = time.perf_counter()
    ddp = _cli("specialist", "run", spec, "--nproc", "2", "--output", tmp_path / "ddp", "--quiet")
    one = _cli("specialist", "run", spec, "--output", tmp_path / "one", "--quiet")
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert one.returncode == 0, one.stderr[-3000:]
    assert ddp.stdout.count("# Specialist `tiny`") == 1  # rank 0 alone prints the report
    report = json.loads((tmp_path / "ddp" / "report.json").read_text())
    single = json.loads((tmp_path / "one" / "report.json").read_text())
    assert report["world_size"] == 2 and report["training"]["world_size"] == 2
    assert single["world_size"] == 1 and "world_size" not in single["training"]
    assert report["training"]["effective_batch"] == single["training"]["effective_batch"] == 14
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir() if not p.name.startswith(".")) == \
        ["adapter", "baseline.json", "data", "predictions", "report.json", "report.md"]
    # The same global batches, each share's loss weighted by its tokens, and the LoRA init
    # drawn from training.seed give the same gradients up to float rounding: the shares are
    # padded to their own longest row and summed in another order, so the runs agree to
    # about 1e-6, not bit for bit. batch_size 7 splits 4 + 3, and 120 rows leave a short
    # last micro-batch of an epoch, so uneven shares are covered.
    torch.testing.assert_close(report["training"]["loss_history"], single["training"]["loss_history"],
                               rtol=1e-4, atol=1e-4)
    assert report["training"]["loss_history"][-1] < report["training"]["loss_history"][0] * 0.8
    a, b = _adapter(tmp_path / "ddp"), _adapter(tmp_path / "one")
    assert a.keys() == b.keys() and len(a) == 8  # 2 layers x (q, v) x (A, B)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
    assert report["finetuned"]["metrics"] == single["finetuned"]["metrics"]
    assert time.perf_counter() - start < 120


@pytest.mark.slow  # a second torchrun launch (about 25 s); the equivalence test above stays in the default run
def test_torchrun_missed_gate_is_one_line_exit_3(tmp_path, tiny_base, sentiment_csv):
    spec = _spec(tmp_path, tiny_base, sentiment_csv, max_steps=1)
    text = spec.read_text().replace("finetuned_target: 0.0", "finetuned_target: 1.01")
    spec.write_text(text)
    res = _cli("specialist", "run", spec, "--nproc", "2", "--output", tmp_path / "run", "--quiet")
    assert res.returncode == 3, res.stderr[-3000:]
    assert res.stderr.strip().splitlines()[-1].startswith("error: tiny: gate missed")
    assert "ChildFailedError" not in res.stderr  # rank 0 exits 0 and leaves its error to the launcher
    assert (tmp_path / "run" / "report.md").is_file() and not (tmp_path / "run" / "adapter").exists()


def test_launch_command_is_torchrun():
    argv = distributed.launch_command("sentiment", 4, ["--local-test", "--quiet"])
    assert argv[:4] == [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    assert argv[4:] == ["--nproc_per_node=4", "-m", "cadre.cli.main", "specialist", "run", "sentiment",
                        "--local-test", "--quiet"]


def test_process_count():
    assert distributed.process_count(0, None, 0) == 1      # CPU spec: single device
    assert distributed.process_count(1, None, 8) == 1      # one GPU asked: single device
    assert distributed.process_count(0.5, None, 1) == 1
    assert distributed.process_count(4, None, 8) == 4      # the spec asks for 4 of 8
    assert distributed.process_count(4, 1, 8) == 1         # --nproc 1 forces one device
    assert distributed.process_count(0, 2, 0) == 2         # --nproc 2 on a CPU machine: gloo
    with pytest.raises(CadreError, match="asked for but this machine has 2 CUDA"):
        distributed.process_count(4, None, 2)
    with pytest.raises(CadreError, match="this machine has none; pass --nproc 1"):
        distributed.process_count(2, None, 0)
    with pytest.raises(CadreError, match="whole number"):
        distributed.process_count(1.5, None, 2)


def test_spec_asking_for_more_gpus_than_present_is_one_line(tmp_path, monkeypatch, sentiment_csv):
    spec = yaml.safe_load(_spec(tmp_path, "unused-base", sentiment_csv).read_text())
    spec["resources"] = {"gpus": 2}
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(spec))
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(distributed, "cuda_devices", lambda: 1)
    res = CliRunner().invoke(app, ["specialist", "run", str(path), "--output", str(tmp_path / "r"), "--quiet"])
    assert res.exit_code == 2, res.output
    lines = [l for l in res.output.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "2 training processes asked for but this machine has 1 CUDA" in lines[0]
    assert not (tmp_path / "r").exists()


def test_shard_and_world_defaults():
    world = distributed.World(rank=1, size=3)
    assert distributed.shard(list(range(7)), world) == [1, 4]
    alone = distributed.World()
    assert not alone.active and alone.is_main and distributed.all_sum([2.5], alone) == [2.5]


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA devices (nccl); scripts/gpu_check_ddp.sh")
def test_torchrun_bf16_on_two_gpus(tmp_path, tiny_base, sentiment_csv):
    spec = _spec(tmp_path, tiny_base, sentiment_csv, bf16=True)
    ddp = _cli("specialist", "run", spec, "--nproc", "2", "--output", tmp_path / "ddp", "--quiet")
    one = _cli("specialist", "run", spec, "--output", tmp_path / "one", "--quiet")
    assert ddp.returncode == 0 and one.returncode == 0, (ddp.stderr + one.stderr)[-3000:]
    report = json.loads((tmp_path / "ddp" / "report.json").read_text())
    single = json.loads((tmp_path / "one" / "report.json").read_text())
    assert report["device"] == "cuda" and report["world_size"] == 2
    assert (tmp_path / "ddp" / "adapter" / "adapter_model.safetensors").is_file()
    # bf16 keeps 8 bits of mantissa, and the two shares round differently from the whole
    # batch: close, not equal
    torch.testing.assert_close(report["training"]["loss_history"], single["training"]["loss_history"],
                               rtol=5e-2, atol=5e-2)
