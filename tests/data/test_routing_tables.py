"""Routing-table reader and writer: per-row handling and counting of bad input."""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from cadre.data.routing_adapters import from_routellm, from_routerbench, from_zeroeval
from cadre.data.routing_tables import RoutingRow, prompt_text, read_routing_table, write_routing_table
from cadre.errors import CadreError


def _png_b64(color=(200, 30, 30)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _write(path, lines):
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_bad_rows_are_handled_per_row_and_counted(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.png")
    (tmp_path / "broken.png").write_bytes(b"not an image at all")
    path = _write(tmp_path / "t.jsonl", [
        {"prompt": "good", "model_scores": {"a": 1, "b": 0}, "model_costs": {"a": 1, "b": 2}, "task": "x"},
        {"prompt": "partial", "model_scores": {"a": None, "b": 1}},
        {"prompt": "all null", "model_scores": {"a": None, "b": None}},
        {"prompt": "", "model_scores": {"a": 1, "b": 1}},
        {"prompt": ["first turn", "second turn"], "model_scores": {"a": 0, "b": 1}},
        {"prompt": "stranger", "model_scores": {"a": 1, "b": 1, "zzz": 1}},
        {"prompt": "pics", "model_scores": {"a": 1, "b": 1},
         "images": ["ok.png", "broken.png", "missing.png", _png_b64(), "bm90IGFuIGltYWdlIGF0IGFsbA=="]},
        "{not json",
        {"prompt": "bad score", "model_scores": {"a": 7, "b": "yes"}},
    ])
    table = read_routing_table(path, models=["a", "b"])
    rep = table.report
    assert rep.rows_read == 9 and rep.rows_kept == 5
    assert (rep.bad_lines, rep.empty_prompts, rep.no_scores) == (1, 1, 2)
    assert rep.missing_scores == 1 and rep.list_prompts == 1
    assert rep.unknown_models == 1 and rep.unknown_model_names == ["zzz"]
    assert rep.bad_images == 3
    pics = next(r for r in table.rows if r.prompt == "pics")
    assert len(pics.images) == 2 and pics.images[0].endswith("ok.png")
    assert next(r for r in table.rows if r.prompt == "second turn").scores == {"a": 0.0, "b": 1.0}
    Y = table.score_matrix()
    assert Y.shape == (5, 2) and np.isnan(Y[1, 0]) and Y[1, 1] == 1.0
    assert table.column("task")[0] == "x"
    assert any(":3:" in p for p in rep.problems)  # file:line of the all-null row


def test_unknown_list_default_models_are_sorted_union(tmp_path):
    path = _write(tmp_path / "t.jsonl", [{"prompt": "p", "model_scores": {"b": 1}},
                                         {"prompt": "q", "model_scores": {"a": 0}}])
    table = read_routing_table(path)
    assert table.models == ["a", "b"] and table.report.missing_scores == 2


def test_no_usable_rows_is_a_clear_error(tmp_path):
    path = _write(tmp_path / "t.jsonl", [{"prompt": "", "model_scores": {"a": 1}}, "[1, 2]"])
    with pytest.raises(CadreError, match="no usable routing rows"):
        read_routing_table(path)
    with pytest.raises(CadreError, match="not found"):
        read_routing_table(tmp_path / "nope.jsonl")


def test_chat_message_prompts_take_the_last_user_turn():
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
            {"role": "user", "content": [{"type": "text", "text": "what is 2+2"}]},
            {"role": "assistant", "content": "4"}]
    assert prompt_text(msgs) == ("what is 2+2", True)
    assert prompt_text("plain") == ("plain", False)
    assert prompt_text(None) == ("", False)


def test_writer_round_trips_gzip_atomically(tmp_path):
    rows = [RoutingRow("p1", {"a": 1.0}, {"a": 0.5}, extra={"split": "train"}),
            {"prompt": "p2", "model_scores": {"a": 0}}]
    out = tmp_path / "sub" / "t.jsonl.gz"
    assert write_routing_table(rows, out) == 2
    table = read_routing_table(out)
    assert table.prompts == ["p1", "p2"] and table.column("split") == ["train", None]
    assert not list(out.parent.glob(".*.tmp"))
    with pytest.raises(CadreError, match="lacks prompt"):
        write_routing_table([{"model_scores": {}}], tmp_path / "bad.jsonl")
    assert not (tmp_path / "bad.jsonl").exists()


def test_source_adapters_map_to_the_design_format():
    rb = from_routerbench({"prompt": "q", "score": {"m": None}, "cost_usd": {"m": 0.1},
                           "eval_name": "mbpp", "routerdc_split": "test", "sample_id": "s"})
    assert rb["model_scores"] == {"m": None} and rb["routerdc_split"] == "test" and rb["task"] == "mbpp"
    ze = from_zeroeval({"question": "q", "correct": {"m": 1}, "output_chars": {"m": 300}, "task": "gsm8k"})
    assert ze["model_costs"] == {"m": 300}
    rl = from_routellm({"prompt": "q", "correct": {"gpt-4-1106-preview": 1,
                                                   "mistralai/Mixtral-8x7B-Instruct-v0.1": 0}})
    assert rl["model_costs"]["gpt-4-1106-preview"] == 1.0
    assert rl["model_costs"]["mistralai/Mixtral-8x7B-Instruct-v0.1"] < 0.05
