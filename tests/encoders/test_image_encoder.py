"""EfficientNet-Lite0 image features and ImageNet labels, on synthetic images (offline)."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from cadre.encoders import image as enc
from cadre.errors import CadreError


def _picture(color=(30, 120, 200)) -> Image.Image:
    img = Image.new("RGB", (300, 200), color)
    draw = ImageDraw.Draw(img)
    draw.ellipse((60, 40, 200, 180), fill=(240, 220, 30))
    draw.rectangle((210, 20, 290, 190), fill=(20, 20, 20))
    return img


def test_labels_are_the_imagenet_1k_names():
    labels = enc.imagenet_labels()
    assert len(labels) == 1000 and labels[0] == "tench" and labels[652] == "military uniform"


def test_top_labels_accept_path_pil_and_base64(tmp_path):
    torch.set_num_threads(1)
    img = _picture()
    path = tmp_path / "pic.png"
    img.save(path)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    b64 = base64.b64encode(buf.getvalue()).decode()
    top = enc.top_labels(str(path), k=5)
    assert len(top) == 5 and all(label in enc.imagenet_labels() for label, _ in top)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    for other in (enc.top_labels(img, k=5), enc.top_labels(b64, k=5), enc.top_labels(f"data:image/png;base64,{b64}")):
        assert [label for label, _ in other] == [label for label, _ in top]


def test_pooled_features_shape_and_sensitivity():
    feats = enc.image_features([_picture(), _picture((200, 40, 40)), _picture()])
    assert feats.shape == (3, enc.DIM) and feats.dtype == np.float32 and np.isfinite(feats).all()
    assert np.allclose(feats[0], feats[2]) and not np.allclose(feats[0], feats[1])
    assert enc.image_features([]).shape == (0, enc.DIM)


def test_undecodable_images_are_clear_errors(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(CadreError, match="does not decode"):
        enc.top_labels(str(tmp_path / "bad.png"))
    with pytest.raises(CadreError, match="not found"):
        enc.image_features([str(tmp_path / "missing.jpg")])
