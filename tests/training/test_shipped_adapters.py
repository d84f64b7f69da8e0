"""The LoRA adapters the demo ships (data/adapters/NAME, by scripts/ship_adapters.py): each
one won its local-test run with confidence, carries that evidence, is small, has no
machine-specific path, and is routed to by configs/cadre.yaml; the script never ships a
loser. Nothing here needs ../shared."""
import importlib.util
import json
from pathlib import Path

import pytest

from cadre.config import load_config

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "data" / "adapters"


def _script():
    spec = importlib.util.spec_from_file_location("ship_adapters", ROOT / "scripts" / "ship_adapters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shipped() -> list[Path]:
    return sorted(p for p in SHIPPED.iterdir() if (p / "cadre.json").is_file()) if SHIPPED.is_dir() else []


def test_at_least_one_winning_adapter_ships_with_its_evidence_and_a_route():
    shipped = _shipped()
    assert shipped, "no adapter in data/adapters (python scripts/ship_adapters.py)"
    config = load_config(ROOT / "configs" / "cadre.yaml")
    paths = {Path(m.path).as_posix(): m.name for m in config.models if m.path}
    for folder in shipped:
        meta = json.loads((folder / "cadre.json").read_text())
        ev = meta["evidence"]
        assert meta["type"] == "lora" and meta["base"] == "smollm2-135m-instruct"
        assert ev["confident_win"] and ev["lower"] > 0 and ev["n"] >= 40 and ev["sign_p"] < 0.05
        assert ev["specialist"] > ev["primary"] and ev["metric"] in meta["metrics"]["finetuned"]
        board = meta["scoreboard"]  # recorded at shipping: the gate lets it serve as shipped
        assert board["winner"] == "specialist" and board["evidence"] == ev and board["metric"] == ev["metric"]
        assert (folder / "adapter_model.safetensors").stat().st_size < 5 * 2**20  # top-layer LoRA: ~1-2 MB
        text = (folder / "cadre.json").read_text() + (folder / "adapter_config.json").read_text()
        assert "/work/" not in text and "/root/" not in text and "base_path" not in meta
        name = paths.get(f"data/adapters/{folder.name}")
        assert name == folder.name and config.routes[name].model == name


def test_the_script_ships_a_winner_portably_and_never_a_loser(tmp_path, monkeypatch):
    ship = _script()
    monkeypatch.setattr(ship, "SHIPPED", tmp_path / "adapters")
    run = tmp_path / "runs" / "spam"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_model.safetensors").write_bytes(b"\0" * 1024)
    (run / "adapter" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/root/.cache/x"}))
    ev = {"metric": "macro_f1", "primary": 0.12, "specialist": 0.9, "lower": 0.7, "n": 200}
    (run / "adapter" / "cadre.json").write_text(json.dumps({
        "type": "lora", "base": "smollm2-135m-instruct", "base_path": "/root/.cache/cadre/models/x",
        "data_manifest": {"/work/data/spam/train.jsonl": "ab12"}, "evidence": ev}))
    (run / "report.md").write_text("# spam\n")
    (run / "report.json").write_text(json.dumps({"gates": {"passed": True, "summary": "all gates passed"}}))
    line = ship.ship("spam", run)
    out = tmp_path / "adapters" / "spam"
    assert line.startswith("spam: shipped") and "0.120 → 0.900" in line
    meta = json.loads((out / "cadre.json").read_text())
    assert "base_path" not in meta and meta["data_manifest"] == {"train.jsonl": "ab12"}
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == "smollm2-135m-instruct"
    assert (out / "REPORT.md").is_file()
    (run / "report.json").write_text(json.dumps({"gates": {"passed": False, "summary": "fine-tuned macro_f1 >= 0.6: 0.46"}}))
    lost = ship.ship("spam", run)
    assert lost == "spam: not shipped, its gate missed (fine-tuned macro_f1 >= 0.6: 0.46)"


@pytest.mark.parametrize("folder", _shipped(), ids=lambda p: p.name)
def test_a_shipped_adapter_serves_through_its_gate(folder, tmp_path):
    """The runtime gate reads the evidence the scoreboard records from cadre.json: it serves."""
    import shutil

    from cadre.runtime.gates import verdict
    from cadre.runtime.registry import ModelCapability, ModelSpec, Registry
    from cadre.scoreboard.board import lora_rows, record_score

    copy = shutil.copytree(folder, tmp_path / folder.name)
    spec = ModelSpec(name=folder.name, path=str(copy), capabilities=(ModelCapability.SPECIALIST,))

    class Engine:  # what lora_rows and record_score read
        primary = "smollm2"
        registry = Registry([spec])

    (row, _), = lora_rows(Engine)
    assert row.winner == "specialist"
    shipped = (copy / "cadre.json").read_bytes()
    record_score(Engine, row, Path("the test split of cadre specialist run"))
    assert (copy / "cadre.json").read_bytes() == shipped  # the row re-read rewrites nothing: make demo leaves a clone clean
    found = verdict(spec, "smollm2")
    assert found.allowed and f"{folder.name}: specialist − primary ≥ +" in found.reason
