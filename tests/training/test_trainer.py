import json
import random

import pytest

from cadre.errors import CadreError
from cadre.training.trainer import TrainConfig, Trainer

LABELS = {
    "image": ["draw", "paint", "sketch", "illustrate"],
    "code": ["python function", "javascript snippet", "rust program", "sql query"],
    "math": ["plus", "times", "divided by", "minus"],
    "chat": ["how are you", "good morning", "tell me a story", "what is up"],
}
THINGS = ["a dog", "the sea", "my cat", "a castle", "two birds", "a red car", "the moon", "a tree"]


def write_router_data(path, per_label=30, seed=0):
    rng = random.Random(seed)
    blocks = []
    for label, cues in LABELS.items():
        for i in range(per_label):
            text = f"{rng.choice(cues)} {rng.choice(THINGS)} {i}"
            blocks.append(f"Q: {text}\nA: [E:tool]{label}")
    rng.shuffle(blocks)
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def router_config(tmp_path, **kw):
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = write_router_data(tmp_path / "router.txt")
    base = dict(type="router", data=[str(data)], model_size="nano", epochs=3, batch_size=8, lr=3e-3,
                output=str(tmp_path / "router"), quiet=True, seed=1)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


def test_router_learns_and_writes_the_checkpoint_contract(tmp_path):
    stats = Trainer(router_config(tmp_path)).train()
    assert len(stats) == 3 and stats[-1].train_loss < stats[0].train_loss
    assert stats[-1].val_accuracy >= 0.8 and stats[-1].val_macro_f1 > 0.7
    folder = tmp_path / "router"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "cadre.json"):
        assert (folder / name).is_file()
    meta = json.loads((folder / "cadre.json").read_text())
    assert meta["labels"] == sorted(LABELS) and meta["preset"] == "nano" and meta["type"] == "router"
    from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast

    model = AutoModelForSequenceClassification.from_pretrained(folder)
    assert model.config.num_labels == 4
    PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))


def test_interrupted_run_resumes_to_the_same_metrics(tmp_path):
    full = Trainer(router_config(tmp_path / "a")).train()

    def interrupt(step):
        if step == 20:  # in the middle of epoch 2 (14 steps per epoch)
            raise KeyboardInterrupt

    cfg = router_config(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, on_step=interrupt).train()
    saved = json.loads((tmp_path / "b" / "router" / "trainer_state.json").read_text())
    assert saved["epoch"] == 1  # the last complete checkpoint is intact
    resumed = Trainer(TrainConfig(type="router", data=[], resume=str(tmp_path / "b" / "router"), quiet=True)).train()
    assert [s.epoch for s in resumed] == [1, 2, 3]
    assert resumed[-1].val_loss == pytest.approx(full[-1].val_loss, abs=1e-6)
    assert resumed[-1].train_loss == pytest.approx(full[-1].train_loss, abs=1e-6)


def test_init_from_fine_tunes_with_new_labels(tmp_path):
    Trainer(router_config(tmp_path, epochs=1)).train()
    data = tmp_path / "two.txt"
    data.write_text("\n\n".join(f"Q: draw {t} {i}\nA: [E:tool]image\n\nQ: hello {t} {i}\nA: [E:tool]greeting"
                                for i, t in enumerate(THINGS)) + "\n")
    stats = Trainer(TrainConfig(type="router", data=[str(data)], epochs=1, quiet=True, lr=3e-3,
                                init_from=str(tmp_path / "router"), output=str(tmp_path / "ft"))).train()
    meta = json.loads((tmp_path / "ft" / "cadre.json").read_text())
    assert meta["labels"] == ["greeting", "image"] and stats[0].val_accuracy is not None


def test_causal_specialist_learns_answers_and_generates(tmp_path):
    from cadre.training.evaluate import evaluate_checkpoint, stream_answer

    data = tmp_path / "math.txt"
    data.write_text("\n\n".join(f"Q: what is {a} plus {a}\nA: {a} plus {a} is {2 * a}." for a in range(1, 13)) + "\n")
    cfg = TrainConfig(type="math", data=[str(data)], model_size="nano", epochs=25, lr=3e-3, quiet=True,
                      val_split=0.0, output=str(tmp_path / "math"), batch_size=4)
    stats = Trainer(cfg).train()
    assert stats[-1].train_loss < stats[0].train_loss / 3
    answer = "".join(stream_answer(tmp_path / "math", "what is 3 plus 3", max_tokens=12))
    assert answer.startswith("3 plus 3 is")
    report = evaluate_checkpoint(tmp_path / "math", data, limit=4, max_tokens=12)
    assert report["kind"] == "generative" and report["perplexity"] < 3.0 and 0 <= report["exact_match"] <= 1


def test_bad_inputs_write_nothing(tmp_path):
    with pytest.raises(CadreError, match="unknown preset 'huge-ish'; valid presets: nano"):
        Trainer(router_config(tmp_path, model_size="huge-ish"))
    one = tmp_path / "one.txt"
    one.write_text("Q: hi\nA: [E:tool]chat\n\nQ: hey\nA: [E:tool]chat\n")
    with pytest.raises(CadreError, match="single class"):
        Trainer(router_config(tmp_path, data=[str(one)]))
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(CadreError, match="CUDA is not available"):
            Trainer(router_config(tmp_path, device="cuda"))
    assert not (tmp_path / "router").exists()


def test_few_pairs_warn_but_train(tmp_path, capsys):
    data = tmp_path / "few.txt"
    data.write_text("Q: draw a dog\nA: [E:tool]image\n\nQ: hello there\nA: [E:tool]chat\n")
    Trainer(router_config(tmp_path, data=[str(data)], epochs=1, val_split=0.0)).train()
    assert "warning: only 2 pairs" in capsys.readouterr().err
    assert (tmp_path / "router" / "model.safetensors").is_file()


def test_the_distillation_recipe_is_the_trainers_and_resumes(tmp_path):
    """The nano distillation recipe (a router teacher, unlabelled transfer texts, length
    buckets, word and subword dropout, alpha 0.7) runs in the one training loop, so an
    interrupted run resumes to the same weights."""
    from cadre.modeling import load_checkpoint
    from cadre.training.router_fit import distill_config

    from cadre.routing import load_router

    Trainer(router_config(tmp_path / "t", epochs=2)).train()  # the teacher: a trained router folder
    load_router(tmp_path / "t" / "router")  # its first load exports model.onnx; later loads score through it
    extra = tmp_path / "extra.txt"
    extra.write_text("paint the sea at night\nrust program for a tree\nhow are you today\n")

    def recipe(out):
        return distill_config(out, "nano", 2, 16, None, True, data=[str(tmp_path / "t" / "router.txt")],
                              teacher=f"router:{tmp_path / 't' / 'router'}", unlabeled=str(extra), seed=3)

    full = Trainer(recipe(tmp_path / "a")).train()

    def interrupt(step):
        if step == 10:  # in epoch 2 (8 steps an epoch: 120 labelled + 3 unlabelled, 16 a batch)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(recipe(tmp_path / "b"), on_step=interrupt).train()
    resumed = Trainer(TrainConfig(type="router", data=[], resume=str(tmp_path / "b"), quiet=True)).train()
    assert resumed[-1].train_loss == pytest.approx(full[-1].train_loss, abs=1e-6)
    (a, meta), (b, _) = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert all((x == y).all() for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert meta["recipe"]["name"] == "distill" and meta["recipe"]["distill_alpha"] == 0.7
    assert meta["recipe"]["word_dropout"] == 0.1 and meta["recipe"]["length_buckets"] is True
    assert meta["unlabeled_examples"] == 3 and meta["train_examples"] == 120 and meta["val_examples"] == 0
