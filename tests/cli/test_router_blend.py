"""`--kind blend` (finetune and ensemble averaged) end to end through the real CLI on a tiny
slice of the bundled Banking77: trained alone, judged by `router eval`, routed by `cadre
route`; and scored by auto from the finetune and ensemble rows when a budget allows."""
from __future__ import annotations

import json

import pytest

from tests.cli.test_router_auto import cli, write_csv
from tests.cli.test_router_finetune import judged_and_routed


@pytest.mark.slow
def test_blend_trains_both_parts_and_routes(tiny):
    root, train, test = tiny
    out = root / "blend"
    result = cli("router", "train", "--kind", "blend", "--data", train, "--output", out, "--epochs", "2")
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "cadre.json").read_text())
    assert meta["router_kind"] == "blend" and meta["parts"] == {"finetune": 0.5, "ensemble": 0.5}
    parts = {name: json.loads((out / name / "cadre.json").read_text())["router_kind"] for name in meta["parts"]}
    assert parts == {"finetune": "finetune", "ensemble": "ensemble"}
    judged_and_routed(out, test, "blend")


@pytest.mark.slow
def test_auto_scores_blend_from_the_finetune_and_ensemble_rows(tiny):
    root, train, _ = tiny
    out = root / "auto"
    result = cli("router", "train", "--data", train, "--output", out, "--candidates", "ensemble,finetune,blend",
                 "--max-latency-ms", "1000", "--train-budget", "120")
    assert result.returncode == 0, result.stderr
    auto = json.loads((out / "cadre.json").read_text())["auto"]
    rows = {r["kind"]: r for r in auto["table"]}
    assert set(rows) == {"ensemble", "finetune", "blend"}
    assert rows["blend"]["cv_accuracy"] > 0.5 and "finetune × 0.5 + ensemble × 0.5" in rows["blend"]["note"]
    assert rows["blend"]["p50_ms"] >= rows["finetune"]["p50_ms"]  # both parts run on every request
    routed = json.loads(cli("route", out, "my new card still has not arrived", "--json").stdout)
    assert routed["name"] == "card_arrival"


def test_blend_must_be_listed_with_its_parts(tmp_path):
    data = write_csv(tmp_path / "d.csv", [("a b", "x"), ("c d", "y")] * 3)
    result = cli("router", "train", "--data", data, "--output", tmp_path / "o", "--candidates", "finetune,blend")
    assert result.returncode == 2 and "blend candidate is scored from the finetune and ensemble rows" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()
