"""`cadre scoreboard` in a subprocess on a project file of tiny models and the bundled
held-out data (first examples of each file), then `cadre models list` reading the record."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cadre.evaluation.evidence import compare

HELDOUT = Path(__file__).resolve().parents[2] / "data" / "heldout"


def cadre(*args, cwd=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "cadre.cli.main", *args], capture_output=True, text=True, check=False,
                          env=env, cwd=cwd, timeout=600)


@pytest.fixture
def project(tmp_path, tiny_router_dir, tiny_causal_dir):
    for name in ("code", "vision"):
        shutil.copytree(tiny_causal_dir, tmp_path / name)
    path = tmp_path / "cadre.yaml"
    path.write_text(f"""\
version: 1
runtime: {{memory_budget: 1GB, threads: 1}}
router: {{model: router}}
models:
  - {{name: primary, path: "{tiny_causal_dir}", capabilities: [primary_chat]}}
  - {{name: router, backend: onnx, path: "{tiny_router_dir}", capabilities: [intent_classification]}}
  - {{name: code, path: "{tmp_path / 'code'}", capabilities: [code_generation]}}
  - {{name: vision, path: "{tmp_path / 'vision'}", capabilities: [vision_captioning]}}
""")
    return path


def test_scoreboard_scores_every_route_and_records_the_scores(project, tmp_path):
    before = cadre("models", "list", "--config", str(project))
    assert before.returncode == 0, before.stderr
    assert "unscored" in next(line for line in before.stdout.splitlines() if line.startswith("code "))
    result = cadre("scoreboard", "--config", str(project), "--heldout", str(HELDOUT), "--limit", "2", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["route"]: r for r in json.loads(result.stdout)}
    assert list(rows) == ["intent", "code", "math", "vision"]
    for route, metric in (("intent", "accuracy"), ("code", "pass@1"), ("math", "numeric"), ("vision", "rouge-l")):
        row = rows[route]
        assert row["metric"] == metric and row["examples"] == 2 and row["primary"] == "primary"
        assert 0 <= row["specialist_score"] <= 1 and 0 <= row["primary_score"] <= 1
        ev = row["evidence"]  # paired over the same 2 examples: too few for a confident win
        assert ev["n"] == 2 and ev["wins"] + ev["losses"] + ev["ties"] == 2
        assert ev["diff"] == pytest.approx(row["specialist_score"] - row["primary_score"], abs=1e-3)
        assert row["winner"] == "primary" and not ev["confident_win"]
        assert row["specialist_cost_per_1k"] is not None and row["primary_cost_per_1k"] > 0
        assert row["specialist_p50_ms"] > 0 and row["primary_p50_ms"] > 0
    assert rows["math"]["specialist"] == "tool:solve_math" and rows["math"]["specialist_score"] == 1.0
    assert rows["code"]["specialist"] == "code" and rows["vision"]["specialist"] == "vision"
    recorded = json.loads((tmp_path / "code" / "cadre.json").read_text())["scoreboard"]
    assert recorded["score"] == rows["code"]["specialist_score"] and recorded["metric"] == "pass@1"
    assert recorded["primary_score"] == rows["code"]["primary_score"] and recorded["examples"] == 2
    assert recorded["evidence"]["n"] == 2 and recorded["winner"] == "primary"
    after = cadre("models", "list", "--config", str(project), "--json")
    listed = {r["name"]: r for r in map(json.loads, after.stdout.splitlines())}
    assert "pass@1 (Δ≥" in listed["code"]["score"] and listed["primary"]["score"] == "primary"
    assert "rouge-l (Δ≥" in listed["vision"]["score"]


def test_the_table_and_a_route_subset(project):
    result = cadre("scoreboard", "--config", str(project), "--heldout", str(HELDOUT), "--limit", "1",
                   "--routes", "math", "--no-record")
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert header.split()[:4] == ["ROUTE", "METRIC", "SPECIALIST", "SCORE"] and "WINNER" in header
    assert row.split()[:4] == ["math", "numeric", "tool:solve_math", "1.00"]


def _lora(project, tmp_path, name: str, metrics: dict, evidence: dict, capability: str):
    """A LoRA folder whose cadre.json records `metrics` and `evidence`, added to the project."""
    lora = tmp_path / name
    lora.mkdir()
    (lora / "cadre.json").write_text(json.dumps({"format_version": 1, "type": "lora", "specialist": name,
                                                 "base": "smollm2", "metrics": metrics, "evidence": evidence}))
    project.write_text(project.read_text() + f'  - {{name: {name}, path: "{lora}", capabilities: [{capability}]}}\n')
    return lora


def test_a_lora_specialist_gets_a_row_from_its_recorded_metrics(project, tmp_path):
    lora = _lora(project, tmp_path, "sentiment", {"baseline": {"accuracy": 0.521}, "finetuned": {"accuracy": 0.86}},
                 compare([1.0] * 86 + [0.0] * 14, [1.0] * 52 + [0.0] * 48), "embedding")
    result = cadre("scoreboard", "--config", str(project), "--heldout", str(HELDOUT), "--limit", "1",
                   "--routes", "math,lora", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["route"]: r for r in json.loads(result.stdout)}
    row = rows["lora:sentiment"]
    assert (row["metric"], row["specialist_score"], row["primary_score"], row["winner"]) == \
        ("accuracy", 0.86, 0.521, "specialist")
    assert row["evidence"]["lower"] > 0.2 and row["examples"] == 100
    recorded = json.loads((lora / "cadre.json").read_text())["scoreboard"]
    assert recorded["score"] == 0.86 and recorded["evidence"]["confident_win"]


def test_a_lora_row_shows_the_metric_its_gate_and_evidence_are_on(project, tmp_path):
    """spam gates on macro F1 (accuracy rewards answering ham): its row shows macro F1."""
    _lora(project, tmp_path, "spam",
          {"baseline": {"accuracy": 0.14, "macro_f1": 0.123}, "finetuned": {"accuracy": 0.95, "macro_f1": 0.9}},
          {**compare([1.0] * 95 + [0.0] * 5, [1.0] * 14 + [0.0] * 86), "metric": "macro_f1"}, "embedding")
    result = cadre("scoreboard", "--config", str(project), "--heldout", str(HELDOUT), "--limit", "1",
                   "--routes", "lora", "--json", "--no-record")
    assert result.returncode == 0, result.stderr
    row = {r["route"]: r for r in json.loads(result.stdout)}["lora:spam"]
    assert (row["metric"], row["specialist_score"], row["primary_score"]) == ("macro_f1", 0.9, 0.123)


def test_a_lora_specialist_ahead_by_a_hair_is_not_the_winner(project, tmp_path):
    _lora(project, tmp_path, "hair", {"baseline": {"accuracy": 0.5}, "finetuned": {"accuracy": 0.6667}},
          compare([1.0] * 4 + [0.0] * 2, [1.0] * 3 + [0.0] * 3), "specialist")
    result = cadre("scoreboard", "--config", str(project), "--heldout", str(HELDOUT), "--limit", "1",
                   "--routes", "lora", "--json")
    assert result.returncode == 0, result.stderr
    row = {r["route"]: r for r in json.loads(result.stdout)}["lora:hair"]
    assert row["specialist_score"] > row["primary_score"] and row["winner"] == "primary"
    table = cadre("scoreboard", "--config", str(project), "--heldout", str(HELDOUT), "--routes", "lora", "--no-record")
    assert "Δ≥(95%)" in table.stdout and "$/1k SPEC" in table.stdout


@pytest.mark.parametrize("content, message", [
    (None, "code.jsonl: held-out file not found"),
    ('{"prompt": "x"}\n', "code.jsonl:1: missing field 'tests'"),
    ('{"prompt": "x", "tests": ["assert 1"]}\nnot json\n', "code.jsonl:2: not valid JSON"),
])
def test_a_missing_or_malformed_heldout_file_is_one_line_naming_it(project, tmp_path, content, message):
    folder = tmp_path / "heldout"
    shutil.copytree(HELDOUT, folder)
    (folder / "code.jsonl").unlink()
    if content is not None:
        (folder / "code.jsonl").write_text(content)
    from typer.testing import CliRunner

    from cadre.cli.main import app

    result = CliRunner().invoke(app, ["scoreboard", "--config", str(project), "--heldout", str(folder)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
