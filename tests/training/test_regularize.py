"""Subword dropout and the cross-fitted TF-IDF teacher that routers train with by default."""
import random

import numpy as np
import pytest
from typer.testing import CliRunner

from cadre.cli.main import app
from cadre.tokenizer import encode_prompt, load_tokenizer
from cadre.training.regularize import subword_dropout, teacher_probabilities
from cadre.training.trainer import TrainConfig, Trainer

TEXT = "please translate this function into rust, and explain the borrow checker"


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(None)


def test_subword_dropout_keeps_the_text_and_markers_but_changes_the_pieces(tok):
    ids, _ = encode_prompt(tok, TEXT, 256)
    dropped = subword_dropout(tok, ids, 0.5, random.Random(3))
    assert dropped != ids and len(dropped) > len(ids)
    assert dropped[:2] == ids[:2] and dropped[-1] == ids[-1]  # <|bos|><|q|> ... <|a|> stay
    assert tok.decode(dropped[2:-1]) == tok.decode(ids[2:-1])
    assert subword_dropout(tok, ids, 0.5, random.Random(3)) == dropped  # seeded: resumable
    assert subword_dropout(tok, ids, 0.0, random.Random(3)) == ids
    assert subword_dropout(tok, ids, 0.5, random.Random(3), max_len=len(ids)) == ids  # would not fit


def test_teacher_gives_held_out_probabilities():
    texts = [f"{verb} {thing}" for verb in ("draw", "paint") for thing in ("a", "b", "c", "d", "e", "f")]
    texts += [f"{verb} {thing}" for verb in ("compute", "add") for thing in ("1", "2", "3", "4", "5", "6")]
    labels = [0] * 12 + [1] * 12
    probs = teacher_probabilities(texts, labels, 2)
    assert probs.shape == (24, 2) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert (probs.argmax(1) == np.array(labels)).mean() >= 0.9


def test_teacher_is_skipped_when_a_class_cannot_be_held_out(capsys):
    assert teacher_probabilities(["a b", "c d", "e f"], [0, 0, 1], 2) is None
    assert "fewer than 2" in capsys.readouterr().err


def _router_file(path):
    lines = []
    for label, cue in (("image", "draw"), ("math", "add"), ("chat", "hello")):
        lines += [f"Q: {cue} thing number {i}\nA: [E:tool]{label}" for i in range(12)]
    path.write_text("\n\n".join(lines) + "\n")
    return str(path)


def test_router_defaults_are_subword_dropout_and_the_tfidf_teacher(tmp_path):
    cfg = TrainConfig(type="router", data=[_router_file(tmp_path / "r.txt")], epochs=1, quiet=True,
                      output=str(tmp_path / "out"))
    trainer = Trainer(cfg)
    assert trainer.config.teacher == "tfidf" and trainer.config.subword_dropout == 0.1
    soft = np.array([e.soft for e in trainer.run.train])
    assert soft.shape == (len(trainer.run.train), 3) and np.allclose(soft.sum(1), 1.0, atol=1e-5)
    assert all(e.soft is None for e in trainer.run.val)  # validation is scored on gold labels only
    code = TrainConfig(type="code", data=["x"]).resolved()
    assert code.teacher == "none" and code.subword_dropout == 0.0


@pytest.mark.parametrize("flags, message", [
    (["--type", "router", "--teacher", "oracle"], "unknown teacher 'oracle'"),
    (["--type", "code", "--teacher", "tfidf"], "needs --type router"),
    (["--type", "router", "--subword-dropout", "1.5"], "--subword-dropout must be in [0, 1)"),
])
def test_bad_regulariser_flags_are_one_line_errors(tmp_path, flags, message):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["train", "--data", _router_file(tmp_path / "r.txt"), "--output", str(out),
                                      "--quiet", *flags])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_run_saved_before_the_regularisers_resumes_without_them(tmp_path):
    import json

    cfg = TrainConfig(type="router", data=[_router_file(tmp_path / "r.txt")], epochs=1, quiet=True,
                      output=str(tmp_path / "out"), teacher="none", subword_dropout=0.0)
    Trainer(cfg).train()
    state_file = tmp_path / "out" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    for key in ("teacher", "subword_dropout", "distill_alpha"):
        del state["config"][key]
    state_file.write_text(json.dumps(state))
    resumed = Trainer(TrainConfig(type="router", data=[], resume=str(tmp_path / "out"), epochs=2, quiet=True))
    assert resumed.config.teacher == "none" and resumed.config.subword_dropout == 0.0
    assert len(resumed.train()) == 2
