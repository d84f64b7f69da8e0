"""Shared session fixtures: tiny cadre checkpoints trained once per test session.

- `tiny_router_dir`: a nano intent classifier (cadre.json type "router") over
  ROUTER_LABELS, trained for a few epochs on templated examples;
- `tiny_causal_dir`: a nano generative checkpoint trained briefly on Q/A pairs (its
  answers are poor; it exists to exercise loading, generation and memory accounting);
- `tiny_causal_copies`: four independent copies of it, for swap tests.

They read nothing from /work/shared and write only under pytest's temp folders.
"""
from __future__ import annotations

import random
import shutil

import pytest

ROUTER_LABELS = {
    "chat": ["how are you", "good morning", "tell me a story about", "what do you think of", "hello there"],
    "code": ["write a python function to", "code a javascript snippet that", "implement in rust",
             "write a sql query to", "fix this python bug in"],
    "math": ["what is 12 times", "solve the equation", "calculate the integral of", "compute 7 plus",
             "find the derivative of"],
    "vision": ["what do you see in this image of", "describe this photo of", "what is in this picture of",
               "look at this image of", "caption this photo of"],
    "image": ["draw a picture of", "paint", "generate an image of", "sketch", "illustrate"],
    "translate": ["translate into french", "say in spanish", "how do you say in german",
                  "translate to italian", "what is the japanese for"],
    "summarize": ["summarize this article about", "give me a summary of", "tl;dr of", "condense this text about",
                  "summarise the report on"],
}
THINGS = ["a dog", "the sea", "my cat", "a castle", "two birds", "a red car", "the moon", "a tree", "lists",
          "strings", "the weather", "a sunset"]
QA_PAIRS = [
    ("write a function to add two numbers", "def add(a, b):\n    return a + b"),
    ("write a function to reverse a string", "def reverse(s):\n    return s[::-1]"),
    ("write a function to sort a list", "def sort_list(items):\n    return sorted(items)"),
    ("[E:vision] cat, sleeping, couch", "A cat is sleeping on a couch."),
    ("[E:vision] dog, grass, ball", "A dog plays with a ball on the grass."),
    ("[E:vision] sunset, ocean, clouds", "The sun sets over the ocean under clouds."),
]


def _write_router_data(path, per_label: int = 24, seed: int = 0):
    rng = random.Random(seed)
    blocks = [f"Q: {rng.choice(cues)} {rng.choice(THINGS)} {i}\nA: [E:tool]{label}"
              for label, cues in ROUTER_LABELS.items() for i in range(per_label)]
    rng.shuffle(blocks)
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def _write_qa_data(path, repeats: int = 6):
    blocks = [f"Q: {q} (v{i})\nA: {a}" for i in range(repeats) for q, a in QA_PAIRS]
    path.write_text("\n\n".join(blocks) + "\n")
    return path


def _train(**kw):
    import torch

    from cadre.training.trainer import TrainConfig, Trainer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Trainer(TrainConfig(quiet=True, seed=1, batch_size=16, **kw)).train()
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_router_dir(tmp_path_factory):
    """A nano router checkpoint over ROUTER_LABELS (val accuracy is high on this easy data)."""
    root = tmp_path_factory.mktemp("tiny_router")
    data = _write_router_data(root / "router.txt")
    _train(type="router", data=[str(data)], model_size="nano", epochs=4, lr=3e-3, output=str(root / "router"))
    return root / "router"


@pytest.fixture(scope="session")
def tiny_causal_dir(tmp_path_factory):
    """A nano generative checkpoint trained for two epochs on a few dozen Q/A pairs."""
    root = tmp_path_factory.mktemp("tiny_causal")
    data = _write_qa_data(root / "qa.txt")
    _train(type="code", data=[str(data)], model_size="nano", epochs=2, lr=1e-3, output=str(root / "causal"))
    return root / "causal"


@pytest.fixture(scope="session")
def tiny_causal_copies(tmp_path_factory, tiny_causal_dir):
    """Four copies of the tiny causal checkpoint under different folders (spec1..spec4)."""
    root = tmp_path_factory.mktemp("copies")
    out = []
    for i in range(1, 5):
        target = root / f"spec{i}"
        shutil.copytree(tiny_causal_dir, target)
        out.append(target)
    return out


@pytest.fixture(scope="session")
def smollm2_adapters(tmp_path_factory):
    """Three tiny LoRA adapters (sql, sentiment, ner) on the real SmolLM2-135M base (tests/lora_adapters.py)."""
    from tests.lora_adapters import make_adapters

    return make_adapters(tmp_path_factory.mktemp("adapters"), ["sql", "sentiment", "ner"])


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A 2-layer, width-64 LlamaForCausalLM with SmolLM2's real tokenizer, saved to a folder:
    a LoRA base that trains and evaluates in seconds (test_lora, test_lora_ddp, fleet)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from cadre.pretrained import resolve_base

    tok = AutoTokenizer.from_pretrained(resolve_base())
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      # a wide init: at 0.02 the logits of a width-64 model stay within about
                      # +-1.3, so the loss could hardly fall whatever the adapter learns
                      initializer_range=0.3,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


SENTIMENT_POS = ["great", "wonderful", "lovely", "superb", "delightful", "brilliant", "charming", "moving"]
SENTIMENT_NEG = ["awful", "boring", "dreadful", "terrible", "tedious", "ugly", "dull", "painful"]
SENTIMENT_NOUNS = ["film", "movie", "story", "plot", "cast", "script", "ending", "score", "show", "drama"]


@pytest.fixture(scope="session")
def sentiment_csv():
    """A writer of synthetic two-class review CSVs (`sentence,label`): write(path, n, seed)."""
    import csv

    def write(path, n, seed):
        rng = random.Random(seed)
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["sentence", "label"])
            w.writeheader()
            for _ in range(n):
                label = rng.randint(0, 1)
                words = SENTIMENT_POS if label else SENTIMENT_NEG
                w.writerow({"sentence": f"the {rng.choice(SENTIMENT_NOUNS)} was {rng.choice(words)} and "
                                        f"{rng.choice(words)}", "label": label})
    return write
