"""Stage 2 of the learned router: prompts (and images) → fixed-size feature vectors.

MiniLM reads only the first 256 word pieces, and few-shot prompts open with the same
worked examples, so embedding the head of the prompt makes most rows look alike. The
features are therefore built from views of the prompt (see `FeatureSpec`):

The text views come from one of two encoders (`FeatureSpec.text`): `static` (the default
since issue 28: distilled static token vectors, 256-d, a tokenizer call and a table
lookup with per-block caching, see `static_text`; under 2 ms per request) or `minilm`
(the MiniLM forward, 384-d, ~5 ms per request; routers saved before issue 28 use it).

- `focus`: the text vector of the *last question block* (the last blank-line-separated block,
  widened backwards until it has some substance), the part that differs between prompts;
- `pooled`: the whole prompt (MiniLM: the mean of ~120-word chunks' vectors; static: the
  mean of all its token vectors);
- `shape`: a few numbers read off the prompt's form (length, number of examples, answer
  choices, a fill-in blank, code markers, digits), which tell task formats apart;
- `images`: EfficientNet-Lite0's 1280-d pooled vector, averaged over a row's images,
  zeros when a row has none (used only when the training table has images).

Arrays are cached on disk (`.npy` + `.json` metadata), keyed by a hash of the spec and
the inputs, so a benchmark or a re-fit embeds each table once.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError

FEATURIZER_VERSION = 2  # 2: the `text` option (static token vectors); 1: MiniLM only
READABLE_FEATURIZERS = (1, 2)
TEXT_DIM, IMAGE_DIM, SHAPE_DIM = 384, 1280, 12  # TEXT_DIM: MiniLM's
TEXT_ENCODERS = {"minilm": TEXT_DIM, "static": 256}
CHUNK_WORDS = 120
_MIN_FOCUS_CHARS = 40
_CHOICE = re.compile(r"^\s*\(?[A-Ea-e][\).:]\s", re.M)
_CODE = re.compile(r"```|\bdef |\breturn\b|\bfunction\b|[{};]\s*$|\bclass ", re.M)


@dataclass(frozen=True)
class FeatureSpec:
    """Which views make up a row's feature vector (saved in the router artifact)."""

    focus: bool = True
    pooled: bool = True
    shape: bool = True
    images: bool = False
    text: str = "static"

    def __post_init__(self):
        if self.text not in TEXT_ENCODERS:
            raise CadreError(f"unknown text encoder {self.text!r}; choose from {sorted(TEXT_ENCODERS)}")

    @property
    def text_dim(self) -> int:
        """Width of one text view."""
        return TEXT_ENCODERS[self.text]

    @property
    def dim(self) -> int:
        """Length of the feature vector."""
        return (self.text_dim * (self.focus + self.pooled) + SHAPE_DIM * self.shape
                + IMAGE_DIM * self.images)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureSpec":
        """Inverse of `to_dict`; unknown keys are an error. A spec saved before the
        `text` option existed is MiniLM's."""
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise CadreError(f"unknown feature option(s) {sorted(unknown)}")
        return cls(**{"text": "minilm", **d})


def _blocks(prompt: str) -> list[str]:
    return [b.strip() for b in re.split(r"\n\s*\n", prompt) if b.strip()]


def focus_text(prompt: str) -> str:
    """The last question block of a prompt: the part that differs between few-shot prompts."""
    blocks = _blocks(prompt)
    if not blocks:
        return prompt
    focus = blocks[-1]
    for block in reversed(blocks[:-1]):
        if len(focus) >= _MIN_FOCUS_CHARS:
            break
        focus = block + "\n\n" + focus
    return focus


def chunks(prompt: str, words: int = CHUNK_WORDS) -> list[str]:
    """Split a prompt into consecutive chunks of about `words` words (at least one)."""
    toks = prompt.split()
    return [" ".join(toks[i:i + words]) for i in range(0, len(toks), words)] or [prompt]


def shape_features(prompt: str) -> np.ndarray:
    """Twelve numbers read off the prompt's form, scaled to about [0, 1], shape (12,)."""
    focus = focus_text(prompt)
    n_chars = max(len(prompt), 1)
    digits = sum(c.isdigit() for c in prompt) / n_chars
    return np.array([
        np.log1p(len(prompt)) / 10, np.log1p(len(focus)) / 10,
        np.log1p(len(prompt.split())) / 8, min(len(_blocks(prompt)), 20) / 20,
        min(len(_CHOICE.findall(focus)), 8) / 8, min(len(_CHOICE.findall(prompt)), 40) / 40,
        float("_" in focus), min(prompt.count("Answer:"), 10) / 10,
        min(len(_CODE.findall(prompt)), 10) / 10, min(digits * 10, 1.0),
        min(focus.count("?"), 5) / 5, float(focus.rstrip().endswith(":")),
    ], dtype=np.float32)  # (12,)


def _unique_encode(texts: list[str], progress: bool) -> np.ndarray:
    """MiniLM vectors for texts, encoding each distinct text once, shape (N, 384)."""
    from cadre.encoders.text import encode_texts

    uniq = list(dict.fromkeys(texts))
    index = {t: i for i, t in enumerate(uniq)}
    vecs = encode_texts(uniq, batch_size=32, progress=progress)  # (U, 384)
    return vecs[[index[t] for t in texts]]


def _pool(vecs: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Mean of consecutive groups of chunk vectors, re-normalised, shape (len(sizes), 384)."""
    out, start = np.zeros((len(sizes), TEXT_DIM), dtype=np.float32), 0
    for i, n in enumerate(sizes):
        v = vecs[start:start + n].mean(axis=0)
        out[i] = v / max(float(np.linalg.norm(v)), 1e-8)
        start += n
    return out


def _image_block(images: Sequence | None, n: int) -> np.ndarray:
    """Mean EfficientNet vector of each row's images, zeros for rows without, (N, 1280)."""
    from cadre.encoders.image import image_features

    out = np.zeros((n, IMAGE_DIM), dtype=np.float32)
    for i, imgs in enumerate(images or []):
        if imgs:
            out[i] = image_features(list(imgs)).mean(axis=0)
    return out


def compute_features(prompts: Sequence[str], images: Sequence | None = None,
                     spec: FeatureSpec = FeatureSpec(), progress: bool = False,
                     encoder=None) -> np.ndarray:
    """Feature vectors of prompts (and their images) per `spec`, shape (N, spec.dim).

    `encoder` is the static BlockEncoder to use (a router passes the one built from its
    saved table; default: the distilled table).
    """
    prompts = list(prompts)
    parts = _static_views(prompts, spec, encoder) if spec.text == "static" \
        else _minilm_views(prompts, spec, progress)
    if spec.shape:
        parts.append(np.stack([shape_features(p) for p in prompts]) if prompts
                     else np.zeros((0, SHAPE_DIM), np.float32))
    if spec.images:
        parts.append(_image_block(images, len(prompts)))
    return np.concatenate(parts, axis=1).astype(np.float32)  # (N, D)


def _static_views(prompts: list[str], spec: FeatureSpec, encoder) -> list[np.ndarray]:
    """The focus and pooled views from static token vectors."""
    if not (spec.focus or spec.pooled):
        return []
    from cadre.routing.learned.static_text import default_encoder

    focus, pooled = (encoder or default_encoder()).views(prompts)
    return [v for v, on in ((focus, spec.focus), (pooled, spec.pooled)) if on]


def _minilm_views(prompts: list[str], spec: FeatureSpec, progress: bool) -> list[np.ndarray]:
    """The focus and pooled views from MiniLM: every focus block and chunk in one call,
    each distinct text once (few-shot prompts share most of their chunks)."""
    focus = [focus_text(p) for p in prompts] if spec.focus else []
    pieces = [_chunks_or_self(p) for p in prompts] if spec.pooled else []
    if not focus and not pieces:
        return []
    vecs = _unique_encode(focus + [c for cs in pieces for c in cs], progress)  # (F + sum chunks, 384)
    parts = []
    if spec.focus:
        parts.append(vecs[:len(focus)])
    if spec.pooled:
        parts.append(_pool(vecs[len(focus):], [len(cs) for cs in pieces]))
    return parts


def _chunks_or_self(prompt: str) -> list[str]:
    """Chunks of a long prompt; a short prompt is its own (single) chunk."""
    cs = chunks(prompt)
    return [prompt] if len(cs) == 1 else cs


def content_key(prompts: Sequence[str], images: Sequence | None, spec: FeatureSpec,
                encoder=None) -> str:
    """A hash of everything the features depend on (a MiniLM spec hashes as it did
    before the `text` option, so cached arrays stay valid)."""
    d = spec.to_dict()
    if spec.text == "minilm":
        del d["text"]
    else:
        from cadre.routing.learned.static_text import default_encoder

        d["table"] = (encoder or default_encoder()).digest
    h = hashlib.sha256(json.dumps({"v": 1 if spec.text == "minilm" else FEATURIZER_VERSION,
                                   "spec": d}).encode())
    for i, p in enumerate(prompts):
        h.update(p.encode("utf-8", "surrogatepass") + b"\x00")
        if spec.images and images is not None and images[i]:
            h.update(json.dumps([str(x)[:4096] for x in images[i]]).encode() + b"\x01")
    return h.hexdigest()[:32]


def default_cache() -> Path:
    """Where feature arrays are cached: `<cadre cache>/features`."""
    from cadre.pretrained import cache_dir

    return cache_dir() / "features"


def featurize(prompts: Sequence[str], images: Sequence | None = None,
              spec: FeatureSpec = FeatureSpec(), cache: str | Path | bool = True,
              progress: bool = False, encoder=None) -> np.ndarray:
    """`compute_features` with an on-disk cache (`cache=False` disables it)."""
    if cache is False or len(prompts) == 0:
        return compute_features(prompts, images, spec, progress, encoder)
    folder = default_cache() if cache is True else Path(cache)
    key = content_key(prompts, images, spec, encoder)
    npy, meta = folder / f"{key}.npy", folder / f"{key}.json"
    if npy.is_file():
        try:
            arr = np.load(npy, allow_pickle=False)
            if arr.shape == (len(prompts), spec.dim):
                return arr
        except (OSError, ValueError):
            pass  # a damaged cache entry is recomputed
    arr = compute_features(prompts, images, spec, progress, encoder)
    _save_cached(folder, npy, meta, arr, spec)
    return arr


def _save_cached(folder: Path, npy: Path, meta: Path, arr: np.ndarray, spec: FeatureSpec) -> None:
    from cadre.fsutil import atomic_write_json

    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npy.tmp")
    from cadre.fsutil import share_with_umask

    share_with_umask(fd)  # mkstemp's 0600 would hide the file from other users
    with os.fdopen(fd, "wb") as f:
        np.save(f, arr, allow_pickle=False)
    os.replace(tmp, npy)
    atomic_write_json(meta, {"featurizer_version": FEATURIZER_VERSION, "spec": spec.to_dict(),
                             "rows": int(arr.shape[0]), "dim": int(arr.shape[1]),
                             "text_encoder": "all-MiniLM-L6-v2" + (" (static)" if spec.text == "static" else ""),
                             "image_encoder": "efficientnet-lite0"})
