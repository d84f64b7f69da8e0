"""Images that arrive in requests: base64 and data URLs only, unless the operator names
one folder whose files may be read (`cadre serve --allow-local-images DIR`).

A request must never make the server read its own disk. Anything that looks like a
path (`/etc/passwd`, `~/x.png`, `file:///...`, `photos/cat.jpg`) is refused with one
message, the same whether or not the file exists, unless it resolves (symlinks
followed) to a file under the allowed folder. Images are also bounded before they are
decoded: a few KB of PNG can claim 20000 x 20000 pixels.
"""
from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path

from cadre.data.images import MAX_PIXELS
from cadre.errors import CadreError

MAX_FILE_BYTES = 20 * 1000 * 1000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
_DATA_URL = re.compile(r"^data:image/[A-Za-z0-9.+-]+;base64,", re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")
REFUSED = ("images must be sent as base64 data URLs (data:image/png;base64,...); "
           "this server does not read image paths")
REFUSED_OUTSIDE = ("image paths are read only under the folder the server's operator allows; "
                   "send the image as a base64 data URL (data:image/png;base64,...)")


class ImageRejected(CadreError):
    """An image in a request that the server will not read or decode (answered 400)."""


def looks_like_path(text: str) -> bool:
    """True for text that names a file rather than listing visual features."""
    if text.lower().startswith("file:") or text[:1] in ("/", "~", "\\") or text.startswith(("./", "../")):
        return True
    if re.match(r"^[A-Za-z]:[\\/]", text):
        return True
    return not re.search(r"\s", text) and ("/" in text or text.lower().endswith(IMAGE_SUFFIXES))


def probe(data: bytes) -> bytes:
    """The bytes, once their header says they are an image of a bounded size (nothing is
    decoded yet); ImageRejected otherwise."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except Image.DecompressionBombError:  # Pillow's own, far higher limit
        raise ImageRejected(f"the image has more than {MAX_PIXELS:,} pixels, the most accepted") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ImageRejected("the image does not decode as PNG, JPEG, GIF, BMP or WebP") from None
    if width * height > MAX_PIXELS:
        raise ImageRejected(f"the image is {width} x {height} pixels; at most {MAX_PIXELS:,} "
                            "pixels are accepted")
    return data


class LocalImages:
    """The server's image policy: `root` is the one folder paths may name (None: none)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).resolve() if root else None

    def prepare(self, source):
        """Image bytes (checked by `probe`) for an image, the text itself for a feature list;
        ImageRejected for a path outside the allowed folder or a malformed image."""
        if isinstance(source, (bytes, bytearray)):
            return probe(bytes(source))
        if not isinstance(source, str):
            return source  # a PIL image from library code
        text = source.strip()
        if text.lower().startswith("data:"):
            return probe(self._data_url(text))
        if len(text) > 200 and _BASE64.fullmatch(text):
            return probe(_b64(text))
        if looks_like_path(text):
            return probe(self.read(text))
        return source

    def _data_url(self, text: str) -> bytes:
        if not _DATA_URL.match(text):
            raise ImageRejected("image_url must be a base64 data URL of an image "
                                "(data:image/png;base64,...)")
        return _b64(text.split(",", 1)[1])

    def read(self, text: str) -> bytes:
        """The bytes of a file under the allowed folder; one message for every refusal."""
        if self.root is None:
            raise ImageRejected(REFUSED)
        name = re.sub(r"^file://(localhost)?", "", text, flags=re.IGNORECASE)
        try:
            path = (self.root / name).resolve()  # an absolute `name` replaces the root
            inside = path.is_relative_to(self.root) and path.is_file()
            if inside and path.stat().st_size <= MAX_FILE_BYTES:
                return path.read_bytes()
        except (OSError, ValueError):
            pass
        raise ImageRejected(REFUSED_OUTSIDE)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(re.sub(r"\s", "", text), validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected("the image is not valid base64") from None


def path_in_text(text: str) -> str | None:
    """The first thing in a text that names an image file (not checked on disk). RE2, not
    `re`: with `re` this pattern took quadratic time on a long word (20,000 letters: 2.7 s
    holding the GIL)."""
    match = _path_pattern().search(text or "")
    return match.group(1) if match else None


def _path_pattern():
    global _PATH
    if _PATH is None:
        import re2

        options = re2.Options()
        options.case_sensitive, options.log_errors = False, False
        # \w and \b in RE2 are ASCII: Unicode classes, and a consumed edge, keep re's meaning
        _PATH = re2.compile(r"((?:file://)?[\pL\pN_./~\\:-]+\.(?:jpe?g|png|gif|bmp|webp|tiff?))(?:[^\pL\pN_]|$)",
                            options)
    return _PATH


_PATH = None
