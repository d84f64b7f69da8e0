"""Opening images given as a file path, a PIL image, base64 text or a `data:` URL.

Shared by the routing-table reader (to count images that fail to decode) and the image
encoder. Pillow is imported inside the functions so that importing this module is cheap.
"""
from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path

from cadre.errors import CadreError

# A few KB of PNG can claim 20000 x 20000 pixels; EfficientNet sees 224 x 224 anyway.
MAX_PIXELS = 4096 * 4096
# Base64 text this long cannot be a file path on any common file system.
_MAX_PATH = 4096
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s_-]+")


def is_file(path: str | Path) -> bool:
    """`Path.is_file`, False for names no file system takes (base64 text with a component
    longer than 255 bytes raises OSError "File name too long" instead)."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def _decode_base64(text: str) -> bytes:
    """Bytes of base64 text, with or without a `data:image/...;base64,` prefix."""
    if text.startswith("data:"):
        text = text.split(",", 1)[1] if "," in text else ""
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise CadreError(f"image is neither a file nor valid base64 ({exc})") from None


def open_image(src, base_dir: str | Path | None = None):
    """Return an RGB `PIL.Image` for a path, PIL image, raw bytes or base64 string.

    Relative paths resolve against `base_dir` (the routing table's folder). Anything that
    fails to decode raises a one-line CadreError saying why.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(src, Image.Image):
        return src.convert("RGB")
    if isinstance(src, (bytes, bytearray)):
        data = bytes(src)
    elif isinstance(src, (str, Path)):
        data = _read_path_or_base64(str(src), base_dir)
    else:
        raise CadreError(f"image must be a path, PIL image or base64 string, not {type(src).__name__}")
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:  # checked on the header, before decoding
            raise CadreError(f"image is {img.width} x {img.height} pixels; at most {MAX_PIXELS:,} are decoded")
        img.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CadreError(f"image does not decode ({type(exc).__name__})") from None
    return img.convert("RGB")


def _read_path_or_base64(text: str, base_dir: str | Path | None) -> bytes:
    """Read a file when `text` names one, else decode it as base64."""
    if text.startswith("data:"):
        return _decode_base64(text)
    if len(text) < _MAX_PATH:
        path = Path(text).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if is_file(path):
            return path.read_bytes()
    if len(text) >= 16 and _BASE64.fullmatch(text):
        return _decode_base64(text)
    raise CadreError(f"image file not found: {text[:120]}")
