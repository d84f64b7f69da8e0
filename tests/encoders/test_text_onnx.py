"""MiniLM on ONNX Runtime (the request path) gives torch's vectors, and can be turned off."""
from __future__ import annotations

import numpy as np

from cadre.encoders import text_onnx
from cadre.encoders.minilm import load_minilm
from cadre.encoders.text import ONNX_MAX_BATCH, encode_texts

TEXTS = ["what is my card's limit?", "write a python function that sorts a list of tuples by the second item",
         "ciao"]


def test_a_few_texts_go_through_onnx_runtime_and_match_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("CADRE_CACHE", str(tmp_path))
    text_onnx.session.cache_clear()
    try:
        assert text_onnx.session() is not None
        assert list((tmp_path / "minilm-onnx").glob("*/model.onnx"))  # exported into the cache
        fast = encode_texts(TEXTS)
        ref = load_minilm().encode(TEXTS, convert_to_numpy=True, normalize_embeddings=True)
        assert fast.shape == (3, 384) and fast.dtype == np.float32
        assert np.abs(fast - ref).max() < text_onnx.PARITY_TOLERANCE
        many = encode_texts(TEXTS * ONNX_MAX_BATCH)  # a bulk batch: torch
        assert np.abs(many[:3] - fast).max() < text_onnx.PARITY_TOLERANCE
    finally:
        text_onnx.session.cache_clear()


def test_the_switch_keeps_every_encode_on_torch(monkeypatch):
    monkeypatch.setenv("CADRE_MINILM_ONNX", "0")
    text_onnx.session.cache_clear()
    try:
        assert text_onnx.session() is None
        assert encode_texts(TEXTS[:1]).shape == (1, 384)
    finally:
        text_onnx.session.cache_clear()


def test_a_checked_graph_opens_without_building_the_torch_model(tmp_path, monkeypatch):
    monkeypatch.setenv("CADRE_CACHE", str(tmp_path))
    text_onnx.session.cache_clear()
    try:
        assert text_onnx.session() is not None  # exports, checks against torch, stamps
        assert list((tmp_path / "minilm-onnx").glob("*/parity-ok-ort*"))
        ref = encode_texts(TEXTS)
        text_onnx.session.cache_clear()

        def no_torch_model():
            raise AssertionError("the torch model was built although the graph was checked before")

        monkeypatch.setattr("cadre.encoders.minilm.load_minilm", no_torch_model)
        assert text_onnx.session() is not None
        assert np.abs(encode_texts(TEXTS) - ref).max() < 1e-6
    finally:
        text_onnx.session.cache_clear()


def test_the_tokenizer_gives_the_sentence_transformers_ids_and_cuts_long_texts():
    long = "a long prompt cut at the token limit " * 60
    texts = TEXTS + [long, ""]
    hf = load_minilm().tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
    ids, mask = text_onnx.token_ids(texts, text_onnx.tokenizer(256))
    assert ids.shape == (5, 256)
    assert (ids == hf["input_ids"]).all() and (mask == hf["attention_mask"]).all()
