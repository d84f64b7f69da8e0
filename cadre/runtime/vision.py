"""`describe_image`: an image (path, PIL image, base64 or data URL) or a string of
features in, a sentence out.

EfficientNet-Lite0's top-k ImageNet labels become the features (`daisy, bee, pot`), and
the tiny vision captioner (the VISION_CAPTIONING model, trained on `[E:vision] features`
→ description pairs) turns them into a sentence. Without a captioner, the labels are
reported as they are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cadre.data.images import is_file
from cadre.errors import CadreError
from cadre.runtime.errors import ToolError
from cadre.runtime.answers import looks_degenerate

VISION_MARK = "[E:vision]"
MIN_PROB = 0.02          # labels below this are noise, but the top one is always kept
ENCODER_NAME = "efficientnet-lite0"
# What the primary gets when it captions instead of the captioner (the scoreboard uses it too).
VISION_INSTRUCTION = ("A photo shows: {features}. In one short sentence, say what the photo shows, "
                      "naming the most likely of these.")


@dataclass
class VisionResult:
    """A description, the features it was made from, and who made it."""

    text: str
    features: str
    labels: list[tuple[str, float]] = field(default_factory=list)
    model: str = ENCODER_NAME
    note: str = ""                  # why the captioner was not used, when it was not


def is_image(source, allow_paths: bool = True) -> bool:
    """True for a PIL image, bytes, an existing file (when `allow_paths`), a data URL or
    long base64 text."""
    if isinstance(source, (bytes, bytearray)) or type(source).__module__.startswith("PIL"):
        return True
    if isinstance(source, Path):
        return True
    if not isinstance(source, str):
        return False
    text = source.strip()
    if text.startswith("data:image/"):
        return True
    if allow_paths and len(text) < 4096 and is_file(Path(text).expanduser()):
        return True
    return len(text) > 200 and re.fullmatch(r"[A-Za-z0-9+/=\s]+", text) is not None


def image_labels(source, k: int = 5) -> list[tuple[str, float]]:
    """The top-k ImageNet labels of an image, first synonym only, noise dropped."""
    from cadre.encoders.image import top_labels

    try:
        ranked = top_labels(source, k=k)
    except CadreError as exc:
        raise ToolError(f"describe_image: {exc}") from None
    kept = [(label.split(",")[0].strip(), p) for label, p in ranked]
    return [kept[0]] + [(label, p) for label, p in kept[1:] if p >= MIN_PROB]


def features_text(source, allow_paths: bool = True) -> tuple[str, list[tuple[str, float]]]:
    """Features for the captioner: from an image's labels, or a feature string as given."""
    if is_image(source, allow_paths):
        labels = image_labels(source)
        return ", ".join(label for label, _ in labels), labels
    if not isinstance(source, str) or not source.strip():
        raise ToolError("describe_image needs an image (path, PIL image, base64) or a string of features")
    text = source.strip()
    return (text[len(VISION_MARK):].strip() if text.startswith(VISION_MARK) else text), []


def describe_image(source, manager=None, max_tokens: int = 64, allow_paths: bool = True) -> VisionResult:
    """Describe an image or a feature string, with the captioner when one is registered.
    With `allow_paths=False` (the server) a string is never opened as a file."""
    features, labels = features_text(source, allow_paths)
    captioner = manager.registry.for_capability("vision_captioning") if manager is not None else None
    if captioner is not None:
        from cadre.runtime.errors import BackendError, BudgetError, Overloaded
        from cadre.runtime.gates import verdict

        gate = verdict(captioner, manager.registry.primary().name)
        if not gate.allowed:  # the captioner lost to the primary (or is unscored): the primary captions
            return primary_caption(features, labels, manager, gate.reason, max_tokens)
        try:
            name, model = manager.acquire_any("vision_captioning")
        except (BackendError, BudgetError, Overloaded) as exc:
            return _fallback(features, labels, f"captioner unavailable ({exc})")
        try:
            text = model.invoke(f"{VISION_MARK} {features}", max_tokens=max_tokens).strip()
        finally:
            manager.release(name)
        if not looks_degenerate(text):
            return VisionResult(text, features, labels, name)
        return _fallback(features, labels, f"{name} gave a degenerate caption")
    return _fallback(features, labels, "no captioner")


def primary_caption(features: str, labels, manager, why: str, max_tokens: int = 64) -> VisionResult:
    """The primary describes the image from the same features the captioner would get."""
    from cadre.runtime.errors import BackendError, BudgetError, Overloaded

    try:
        name, model = manager.acquire_any("primary_chat")
    except (BackendError, BudgetError, Overloaded) as exc:
        return _fallback(features, labels, f"{why}; primary unavailable ({exc})")
    try:
        text = model.invoke(VISION_INSTRUCTION.format(features=features), max_tokens=max_tokens).strip()
    finally:
        manager.release(name)
    if looks_degenerate(text):
        return _fallback(features, labels, f"{why}; the primary gave a degenerate caption")
    if not names_a_feature(text, features):  # a caption about something the encoder did not see
        return _fallback(features, labels, f"{why}; the primary's caption named none of the features")
    return VisionResult(text, features, labels, name, why)


def names_a_feature(caption: str, features: str) -> bool:
    """Whether a caption names at least one of the features it was given (any word of a
    multi-word label counts, so "a hen of the woods" matches hen-of-the-woods)."""
    def content_words(text: str) -> set[str]:
        return set(re.findall(r"[a-z]{3,}", text.lower())) - _FUNCTION_WORDS

    words = content_words(caption)
    return any(content_words(label) & words for label in features.split(","))


_FUNCTION_WORDS = {"the", "and", "with", "for", "from", "that", "this", "its", "are", "was", "has", "one", "two"}


def _fallback(features: str, labels, why: str) -> VisionResult:
    """The labels themselves, when no captioner (or no usable caption) is available."""
    if labels:
        parts = ", ".join(f"{label} ({p:.0%})" for label, p in labels)
        return VisionResult(f"The image most likely shows: {parts}.", features, labels, ENCODER_NAME, why)
    return VisionResult(f"Features: {features}.", features, labels, ENCODER_NAME, why)
