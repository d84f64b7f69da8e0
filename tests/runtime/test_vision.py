import base64
import io

import pytest

from cadre.config import ModelEntry, ProjectConfig, RuntimeSettings
from cadre.runtime.engine import Engine
from cadre.runtime.errors import ToolError
from cadre.runtime.manager import ModelManager
from cadre.runtime.registry import Registry
from cadre.runtime.vision import describe_image, features_text, is_image


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def photo():
    """A synthetic picture: a yellow disc on a blue background."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (256, 256), (40, 90, 200))
    ImageDraw.Draw(img).ellipse((64, 64, 192, 192), fill=(250, 220, 30))
    return img


@pytest.fixture(scope="module")
def config(tiny_causal_dir):
    return ProjectConfig(models=[
        ModelEntry(name="primary", path=str(tiny_causal_dir), capabilities=["primary_chat"]),
        ModelEntry(name="vision", path=str(tiny_causal_dir), capabilities=["vision_captioning"], force=True),
    ], runtime=RuntimeSettings(memory_budget="1GB"))


def test_what_counts_as_an_image(tmp_path, photo):
    path = tmp_path / "p.png"
    photo.save(path)
    assert is_image(photo) and is_image(str(path)) and is_image("data:image/png;base64,AAAA")
    assert not is_image("cat, sleeping, couch") and not is_image(str(tmp_path / "missing.png"))
    assert features_text("[E:vision] cat, couch") == ("cat, couch", [])


def test_an_image_becomes_labels_then_a_caption(photo, config):
    manager = ModelManager.from_config(config)
    result = describe_image(photo, manager, max_tokens=6)
    probs = [p for _, p in result.labels]
    assert result.labels and probs == sorted(probs, reverse=True) and all(0 < p <= 1 for p in probs)
    assert result.features == ", ".join(label for label, _ in result.labels)
    assert manager.slots["vision"].loads == 1  # the captioner ran
    # an undertrained captioner's "a a a a a" is replaced by the labels, and says so
    assert result.model == "vision" or (result.model == "efficientnet-lite0" and "degenerate" in result.note)


def test_without_a_captioner_the_labels_are_reported(photo):
    result = describe_image(photo, None)
    assert result.model == "efficientnet-lite0" and result.labels[0][0] in result.text
    assert describe_image("cat, couch").text == "Features: cat, couch."


def test_bad_images_are_clear_errors():
    with pytest.raises(ToolError, match="describe_image"):
        describe_image(b"definitely not an image")
    with pytest.raises(ToolError):
        describe_image("   ")


def test_the_engine_describes_an_attached_image(photo, config):
    buf = io.BytesIO()
    photo.save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    engine = Engine(config, manager=ModelManager.from_config(config, Registry.from_config(config)))
    result = engine.chat([{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                                       {"type": "image_url", "image_url": {"url": url}}]}])
    assert result.model in ("vision", "efficientnet-lite0")
    assert result.reason.startswith("image attached → describe_image (features: ")
    marked = engine.generate("[E:vision] cat, sleeping, couch", max_tokens=5)
    assert marked.reason.startswith("[E:vision] features given → describe_image (features: given as text")
    assert "sleeping" not in marked.reason  # a reason never carries the request's words


def test_a_caption_must_name_one_of_the_features_it_was_given():
    from cadre.runtime.vision import names_a_feature

    features = "hen-of-the-woods, daisy, earthstar, mushroom, pot"
    assert names_a_feature("The photo shows a daisy beside a pot.", features)
    assert names_a_feature("A hen of the woods on a log.", features)  # one word of a multi-word label
    assert not names_a_feature("The photo is a stunning example of a rare creature named Holly.", features)
    assert not names_a_feature("", features)
