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
