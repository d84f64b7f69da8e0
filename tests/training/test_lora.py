"""The LoRA specialist pipeline against a tiny random-init Llama (real SmolLM2 tokenizer),
plus one short smoke run on the real SmolLM2-135M-Instruct."""
import csv
import json
import math
import random

import pytest
import torch
import yaml
from typer.testing import CliRunner

from cadre.cli.main import app
from cadre.errors import CadreError
from cadre.training.lora import pipeline as lora
from cadre.training.lora.catalog import load_spec_file

torch.set_num_threads(1)
POS = ["great", "wonderful", "lovely", "superb", "delightful", "brilliant", "charming", "moving"]
NEG = ["awful", "boring", "dreadful", "terrible", "tedious", "ugly", "dull", "painful"]
NOUNS = ["film", "movie", "story", "plot", "cast", "script", "ending", "score", "show", "drama"]


def _rows(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.randint(0, 1)
        word = rng.choice(POS if label else NEG)
        other = rng.choice(POS if label else NEG)
        out.append({"sentence": f"the {rng.choice(NOUNS)} was {word} and {other} from start to end",
                    "label": label})
    return out


def _write_csv(path, rows, fields=("sentence", "label")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(fields))
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in fields})


def _spec(tmp_path, base, **over):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if not (data / "train.csv").exists():
        _write_csv(data / "train.csv", _rows(160, 1))
        _write_csv(data / "test.csv", _rows(40, 2))
    spec = {
        "name": "tiny", "task": "classification", "base": base,
        "dataset": {"path": str(data), "files": {"train": "train.csv", "test": "test.csv"}, "split": "files",
                    "columns": {"text": "sentence", "label": "label"},
                    "label_names": {"0": "negative", "1": "positive"}},
        "prompt": {"system": "", "template": "Review: {text}\nPositive or negative?"},
        "metrics": ["accuracy", "macro_f1"],
        "lora": {"rank": 8, "alpha": 16, "target_modules": ["q_proj", "v_proj", "down_proj"]},
        "training": {"batch_size": 16, "gradient_accumulation_steps": 1, "learning_rate": 1e-2,
                     "max_steps": 30, "warmup_ratio": 0.1, "max_length": 64, "eval_batch_size": 20},
        "gates": {"metric": "accuracy", "finetuned_target": 0.0, "min_improvement": -1.0},
    }
    for key, value in over.items():
        spec[key] = {**spec[key], **value} if isinstance(value, dict) and key in spec else value
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_pipeline_trains_exports_and_reports(tmp_path, tiny_base):
    spec = load_spec_file(_spec(tmp_path, tiny_base))
    out = tmp_path / "run"
    report = lora.run(spec, lora.RunOptions(output=str(out), progress=False, merge=True))
    t = report["training"]
    assert t["loss_last"] < t["loss_first"] * 0.5, t  # the adapter learns
    assert t["tokens_per_s"] > 0 and t["peak_memory_mb"] > 0
    tuned = report["finetuned"]
    n_test = len((out / "data" / "test.jsonl").read_text().splitlines())  # 40 written, less repeats
    assert sum(map(sum, tuned["confusion"])) == tuned["n"] == n_test >= 35  # every prediction is a label
    assert (out / "predictions" / "finetuned.jsonl").read_text().count("\n") == n_test
    adapter = out / "adapter"
    assert (adapter / "adapter_model.safetensors").stat().st_size > 0
    meta = json.loads((adapter / "cadre.json").read_text())
    assert meta["type"] == "lora" and meta["labels"] == ["negative", "positive"] and meta["base"] == tiny_base
    assert (out / "merged" / "model.safetensors").is_file()
    md = (out / "report.md").read_text()
    assert "| accuracy |" in md and "PASS" in md
    manifest = json.loads((out / "data" / "manifest.json").read_text())
    assert set(manifest["files"]) == {"train.jsonl", "validation.jsonl", "test.jsonl"}
    assert manifest["rows"]["test"] == len((out / "data" / "test.jsonl").read_text().splitlines())
    # the adapter reloads as base + PeftModel and reproduces the fine-tuned accuracy's predictions
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_base), str(adapter)).eval()
    plain = AutoModelForCausalLM.from_pretrained(tiny_base).eval()
    ids = torch.tensor([[1, 4093, 198, 6004, 2, 198, 1, 520, 9531, 198]])
    with torch.no_grad():
        assert not torch.allclose(reloaded(ids).logits, plain(ids).logits, atol=1e-3)


def test_missed_gate_exits_3_and_still_writes_report(tmp_path, tiny_base):
    path = _spec(tmp_path, tiny_base, gates={"finetuned_target": 1.01}, training={"max_steps": 2})
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["specialist", "run", str(path), "--output", str(out), "--quiet"])
    assert res.exit_code == 3, res.output
    assert "gate missed" in res.output
    assert (out / "report.md").is_file() and "FAIL" in (out / "report.md").read_text()
    assert not (out / "adapter").exists()
    shown = CliRunner().invoke(app, ["specialist", "report", "tiny", "--output", str(out)])
    assert shown.exit_code == 0 and "FAIL" in shown.output


def _one_line_error(res, code=2):
    assert res.exit_code == code, res.output
    lines = [l for l in res.output.strip().splitlines() if l.startswith("error:")]
    assert len(lines) == 1, res.output
    return lines[0]


def test_missing_column_is_one_line(tmp_path, tiny_base):
    path = _spec(tmp_path, tiny_base, dataset={"columns": {"text": "sentence", "label": "sentiment"}})
    msg = _one_line_error(CliRunner().invoke(app, ["specialist", "run", str(path), "--output",
                                                   str(tmp_path / "r"), "--quiet"]))
    assert "missing column(s) sentiment" in msg and "found: sentence, label" in msg and ".csv: " in msg


def test_empty_split_is_one_line(tmp_path, tiny_base):
    data = tmp_path / "data"
    data.mkdir()
    _write_csv(data / "train.csv", _rows(50, 1))
    _write_csv(data / "test.csv", [{"sentence": "  ", "label": 1}, {"sentence": "", "label": 0}])
    path = _spec(tmp_path, tiny_base)
    msg = _one_line_error(CliRunner().invoke(app, ["specialist", "run", str(path), "--quiet",
                                                   "--output", str(tmp_path / "r")]))
    assert "split 'test' is empty" in msg and "test.csv" in msg


def test_bad_target_module_lists_linear_modules(tmp_path, tiny_base):
    path = _spec(tmp_path, tiny_base, lora={"target_modules": ["q_proj", "c_attn"]})
    msg = _one_line_error(CliRunner().invoke(app, ["specialist", "run", str(path), "--quiet",
                                                   "--output", str(tmp_path / "r")]))
    assert "module(s) c_attn not in" in msg and "its linear modules: " in msg
    assert {"q_proj", "gate_proj", "down_proj"} <= set(msg.split("its linear modules: ")[1].split(", "))
    assert not (tmp_path / "r").exists()


def test_nonexistent_base_is_one_line(tmp_path, tiny_base):
    path = _spec(tmp_path, tiny_base)
    msg = _one_line_error(CliRunner().invoke(app, ["specialist", "run", str(path), "--quiet", "--base",
                                                   str(tmp_path / "no" / "such-model"),
                                                   "--output", str(tmp_path / "r")]))
    assert "base model" in msg and "not found" in msg
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_multi_token_labels_loglik_and_constrained_agree_on_trained_labels(tiny_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cadre.training.lora.evaluate import classify, encode_prompt

    tok = AutoTokenizer.from_pretrained(tiny_base)
    model = AutoModelForCausalLM.from_pretrained(tiny_base).eval()
    labels = ["card arrival", "card linking", "lost or stolen card"]
    prompts = [encode_prompt(tok, f"<|im_start|>user\nq{i}<|im_end|>\n<|im_start|>assistant\n") for i in range(3)]
    for method in ("loglik", "constrained"):
        preds = classify(model, tok, prompts, labels, method=method, batch_size=4)
        assert len(preds) == 3 and set(preds) <= set(labels)


def test_catalog_lists_and_rejects_unknown():
    from cadre.training.lora.catalog import catalog, load_specialist

    assert {"sentiment", "intent", "math", "code"} <= set(catalog())
    with pytest.raises(CadreError, match="unknown specialist 'poetry'; valid: .*sentiment"):
        load_specialist("poetry")
    res = CliRunner().invoke(app, ["specialist", "list"])
    assert res.exit_code == 0 and "sentiment" in res.output and "classification" in res.output


def test_smoke_real_smollm2_sentiment_spec(tmp_path):
    """The shipped sentiment spec on the real SmolLM2-135M: a few steps on 16 examples."""
    data = tmp_path / "sst"
    data.mkdir()
    for name, n, seed in (("train.tsv", 16, 3), ("dev.tsv", 4, 4), ("test.tsv", 8, 5)):
        rows = _rows(n, seed)
        (data / name).write_text("sentence\tlabel\n" + "".join(f"{r['sentence']}\t{r['label']}\n" for r in rows))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["specialist", "run", "sentiment", "--local-test", "--data", str(data),
                                   "--output", str(out), "--max-steps", "2", "--batch-size", "4", "--quiet"])
    assert res.exit_code in (0, 3), res.output  # tiny data: the gate may or may not pass
    report = json.loads((out / "report.json").read_text())
    assert report["base"] == "smollm2-135m-instruct" and report["training"]["steps"] == 2
    assert report["baseline"]["n"] == report["finetuned"]["n"] == 8
    assert all(0.0 <= v <= 1.0 for v in report["finetuned"]["metrics"].values())
    assert math.isfinite(report["training"]["loss_last"])
    if res.exit_code == 0:
        assert json.loads((out / "adapter" / "cadre.json").read_text())["labels"] == ["negative", "positive"]


def test_generation_pipeline_with_numeric_judge(tmp_path, tiny_base):
    """A generation specialist: greedy decoding, the numeric judge and text metrics."""
    rng = random.Random(0)
    rows = [{"q": f"What is {a} plus {b}?", "a": f"{a} + {b} = <<{a}+{b}={a + b}>>{a + b}\n#### {a + b}"}
            for a, b in ((rng.randint(1, 9), rng.randint(1, 9)) for _ in range(60))]
    path = tmp_path / "sums.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = {"name": "sums", "task": "generation", "base": tiny_base,
            "dataset": {"path": str(path), "columns": {"question": "q", "answer": "a"},
                        "strip": {"answer": "<<[^>]*>>"}},
            "prompt": {"template": "{question}", "response": "{answer}"},
            "reference": "answer", "judge": "numeric", "metrics": ["accuracy", "exact_match", "rouge_l"],
            "lora": {"target_modules": ["q_proj", "v_proj"]},
            "training": {"batch_size": 8, "gradient_accumulation_steps": 1, "max_steps": 3,
                         "max_new_tokens": 6, "eval_batch_size": 8, "max_length": 64},
            "gates": {"metric": "accuracy", "min_improvement": -1.0}}
    (tmp_path / "sums.yaml").write_text(yaml.safe_dump(spec))
    out = tmp_path / "run"
    report = lora.run(load_spec_file(tmp_path / "sums.yaml"), lora.RunOptions(output=str(out), progress=False))
    assert set(report["finetuned"]["metrics"]) == {"accuracy", "exact_match", "rouge_l"}
    assert report["data"]["rows"]["test"] == 6  # 80/10/10 of 60 (seeded, no repeat within test)
    preds = [json.loads(l) for l in (out / "predictions" / "baseline.jsonl").read_text().splitlines()]
    assert all("####" in p["reference"] and "<<" not in p["reference"] for p in preds)
    assert (out / "adapter" / "adapter_model.safetensors").is_file()


def test_response_loss_matches_full_loss_and_baseline_is_cached(tmp_path, tiny_base):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_base).eval()
    rows = [{"input_ids": [5, 6, 7, 8, 9, 10], "labels": [-100, -100, -100, -100, 9, 10]},
            {"input_ids": [11, 12, 13, 14], "labels": [-100, -100, -100, 14]}]
    ids, mask, labels = lora._collate(rows, 2)
    ours = lora._response_loss(model, ids, mask, labels)
    with torch.no_grad():  # reference: each row alone, HF's own shifted loss, token-weighted
        full = [model(input_ids=torch.tensor([r["input_ids"]]), labels=torch.tensor([r["labels"]])).loss
                * sum(x != -100 for x in r["labels"][1:]) for r in rows]
    assert ours.item() == pytest.approx((sum(full) / 3).item(), rel=1e-4)
    # the second run of the same spec reuses the baseline
    spec = load_spec_file(_spec(tmp_path, tiny_base, training={"max_steps": 1}))
    first = lora.run(spec, lora.RunOptions(output=str(tmp_path / "r"), progress=False))
    again = lora.run(spec, lora.RunOptions(output=str(tmp_path / "r"), progress=False))
    assert "cached" not in first["baseline"] and again["baseline"]["cached"] is True
    assert again["baseline"]["metrics"] == first["baseline"]["metrics"]
