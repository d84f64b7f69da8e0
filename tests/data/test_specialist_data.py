"""The specialist data pipeline: formats, cleaning, splits, manifests, and catalog errors."""
import gzip
import json
from pathlib import Path

import pytest
import yaml

from cadre.data import specialist_data as sd
from cadre.errors import CadreError
from cadre.training.lora.catalog import DatasetSpec, PromptSpec, load_spec_file


def test_read_table_formats(tmp_path):
    (tmp_path / "a.csv").write_text('text,label\n"hi, there",1\n', encoding="utf-8")
    (tmp_path / "a.tsv").write_text('sentence\tlabel\nit \'s "odd\t0\n', encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"q": "x"}\n\n{"q": "y"}\n', encoding="utf-8")
    (tmp_path / "a.json").write_text('{"data": [{"q": 1}]}', encoding="utf-8")
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"q": "z"}\n'))
    assert sd.read_table(tmp_path / "a.csv") == [{"text": "hi, there", "label": "1"}]
    assert sd.read_table(tmp_path / "a.tsv") == [{"sentence": "it 's \"odd", "label": "0"}]  # unquoted TSV
    assert [r["q"] for r in sd.read_table(tmp_path / "a.jsonl")] == ["x", "y"]
    assert sd.read_table(tmp_path / "a.json") == [{"q": 1}]
    assert sd.read_table(tmp_path / "a.jsonl.gz") == [{"q": "z"}]
    (tmp_path / "bad.jsonl").write_text('{"q": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(CadreError, match=r"bad.jsonl:2: invalid JSON"):
        sd.read_table(tmp_path / "bad.jsonl")
    with pytest.raises(CadreError, match="unsupported data format .parquet"):
        (tmp_path / "x.parquet").write_bytes(b"")
        sd.read_table(tmp_path / "x.parquet")


def test_fix_text_and_clean_rows():
    assert sd.fix_text("caf\u00c3\u00a9  au   lait\u200b ") == "café au lait"  # mojibake + spaces
    assert sd.fix_text("def f():\r\n    return 1  \r\n") == "def f():\n    return 1"  # code keeps indentation
    stats = {}
    rows = [{"text": "Good  film", "label": "1"}, {"text": "good film", "label": "0"},
            {"text": "  ", "label": "1"}, {"text": "bad", "label": "0"}]
    out = sd.clean_rows(rows, ["text"], stats)
    assert out == [{"text": "Good film", "label": "1"}, {"text": "bad", "label": "0"}]
    assert stats == {"duplicate": 1, "empty": 1}
    stripped = sd.clean_rows([{"a": "3*4=<<3*4=12>>12"}], ["a"], {}, strip={"a": "<<[^>]*>>"})
    assert stripped == [{"a": "3*4=12"}]


def test_random_split_is_seeded_80_10_10():
    rows = list(range(100))
    a, b = sd.random_split(rows, seed=7), sd.random_split(rows, seed=7)
    assert a == b and [len(a[k]) for k in sd.SPLITS] == [80, 10, 10]
    assert sorted(a["train"] + a["validation"] + a["test"]) == rows
    assert sd.random_split(rows, seed=8)["test"] != a["test"]


def _dataset(tmp_path, n=50, **over):
    lines = ["text,label"] + [f"sentence number {i} is {'good' if i % 2 else 'bad'},{i % 2}" for i in range(n)]
    (tmp_path / "all.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = dict(path=str(tmp_path / "all.csv"), columns={"text": "text", "label": "label"},
                label_names={"0": "negative", "1": "positive"}, **over)
    return DatasetSpec(**spec), PromptSpec(template="Review: {text}", response="{label}")


def test_prepare_formats_and_saves_with_manifest(tmp_path):
    ds, prompt = _dataset(tmp_path)
    data = sd.prepare(ds, prompt, classification=True, reference="label")
    assert data["manifest"]["rows"] == {"train": 40, "validation": 5, "test": 5}
    ex = data["splits"]["train"][0]
    assert ex["prompt"].startswith("Review: sentence number") and ex["response"] in ("negative", "positive")
    assert ex["metadata"]["label"] == ex["response"] and data["labels"] == ["negative", "positive"]
    folder = sd.save_prepared(data, tmp_path / "out")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"]["test.jsonl"] == sd.sha256_file(folder / "test.jsonl")
    assert manifest["source_files"][str(tmp_path / "all.csv")] == sd.sha256_file(tmp_path / "all.csv")
    assert not list(tmp_path.glob(".out*"))  # no temporary folder left behind


def test_prepare_errors_name_the_file(tmp_path):
    ds, prompt = _dataset(tmp_path, n=3)
    with pytest.raises(CadreError, match=r"all.csv: split '(validation|test)' is empty"):
        sd.prepare(ds, prompt, classification=True, reference="label")
    bad = ds.model_copy(update={"columns": {"text": "review", "label": "label"}})
    with pytest.raises(CadreError, match=r"all.csv: missing column\(s\) review; found: text, label"):
        sd.prepare(bad, prompt, classification=True, reference="label")
    with pytest.raises(CadreError, match=r"placeholder \{title\} is not a column"):
        sd.prepare(_dataset(tmp_path)[0], PromptSpec(template="{title}"), classification=True, reference="label")


def test_leaks_and_min_words(tmp_path):
    (tmp_path / "train.csv").write_text("t,l\nshared sentence here,1\na b,0\nlong enough train row,0\n"
                                        "also in validation set,1\nanother long train row,1\n", encoding="utf-8")
    (tmp_path / "val.csv").write_text("t,l\nalso in validation set,1\n", encoding="utf-8")
    (tmp_path / "test.csv").write_text("t,l\nShared  sentence here,1\nx,0\n", encoding="utf-8")
    ds = DatasetSpec(path=str(tmp_path), files={"train": "train.csv", "validation": "val.csv",
                                                "test": "test.csv"}, split="files",
                     columns={"text": "t", "label": "l"}, train_min_words={"text": 3})
    data = sd.prepare(ds, PromptSpec(template="{text}"), classification=True, reference="label")
    assert [e["prompt"] for e in data["splits"]["train"]] == ["long enough train row", "another long train row"]
    assert [e["prompt"] for e in data["splits"]["test"]] == ["Shared sentence here", "x"]  # never filtered
    assert data["manifest"]["dropped"] == {"leaked": 2, "short": 1}


def test_catalog_yaml_errors(tmp_path):
    base = yaml.safe_load(Path("configs/specialists/sentiment.yaml").read_text())
    bad = dict(base, lora={**base["lora"], "rnak": 4})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(CadreError, match=r"s.yaml:\d+: lora.rnak: Extra inputs are not permitted"):
        load_spec_file(tmp_path / "s.yaml")
    (tmp_path / "t.yaml").write_text("name: [unclosed\n")
    with pytest.raises(CadreError, match=r"t.yaml:\d+: invalid YAML"):
        load_spec_file(tmp_path / "t.yaml")
    spec = load_spec_file("configs/specialists/sentiment.yaml")
    assert spec.training.learning_rate == 2e-4 and spec.training.gradient_accumulation_steps == 4
    assert spec.for_local_test().training.learning_rate != 2e-4
    for name in ("intent", "math", "code"):
        assert load_spec_file(f"configs/specialists/{name}.yaml").name == name
    assert Path("configs/specialists/code.yaml").read_text().startswith("# cadre specialist run code")
