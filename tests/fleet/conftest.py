"""A catalog of tiny specialists for fleet tests: a 2-layer Llama with SmolLM2's tokenizer
as every spec's base, and a synthetic sentiment data set, so a pipeline runs in seconds."""
from types import SimpleNamespace

import pytest
import yaml

def spec_dict(name, base, data, steps=8, **over):
    """One tiny sentiment specialist; `over` replaces top-level blocks."""
    spec = {"name": name, "task": "classification", "base": base,
            "dataset": {"path": str(data), "files": {"train": "train.csv", "test": "test.csv"}, "split": "files",
                        "columns": {"text": "sentence", "label": "label"},
                        "label_names": {"0": "negative", "1": "positive"}},
            "prompt": {"system": "", "template": "Review: {text}\nPositive or negative?"},
            "metrics": ["accuracy"],
            "lora": {"rank": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
            "training": {"batch_size": 8, "gradient_accumulation_steps": 1, "learning_rate": 1e-2,
                         "max_steps": steps, "max_length": 48, "eval_batch_size": 20, "seed": 7},
            "gates": {"metric": "accuracy", "min_improvement": -1.0},
            "resources": {"cpus": 1, "gpus": 0}}
    spec.update(over)
    return spec


@pytest.fixture()
def tiny_catalog(tmp_path, tiny_base, sentiment_csv):
    """A catalog folder with specialists a and b, and a writer for more."""
    data = tmp_path / "data"
    data.mkdir()
    sentiment_csv(data / "train.csv", 64, 1)
    sentiment_csv(data / "test.csv", 20, 2)
    folder = tmp_path / "catalog"
    folder.mkdir()

    def add(name, **over):
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec_dict(name, tiny_base, data, **over)))
        return folder / f"{name}.yaml"

    add("a")
    add("b", training={**spec_dict("b", tiny_base, data)["training"], "seed": 11})
    return SimpleNamespace(dir=folder, add=add, data=data)
