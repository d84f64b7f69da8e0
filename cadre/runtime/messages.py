"""Reading a chat's messages: their shape, the latest image, the language a request names."""
from __future__ import annotations

import re

from cadre.errors import CadreError
from cadre.runtime.errors import ToolError

ROLES = {"system", "user", "assistant", "tool"}
_LANG = re.compile(r"\b(?:into|to|in)\s+([A-Z][a-z]+|[a-z]+ish|french|german|italian|japanese|chinese|"
                   r"korean|russian|portuguese|dutch|greek|arabic|hindi)\b", re.IGNORECASE)


def check_messages(messages) -> None:
    """A clear error for a malformed chat (names the message index)."""
    if not isinstance(messages, list) or not messages:
        raise CadreError("messages must be a non-empty list of {role, content} objects")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise CadreError(f"messages[{i}]: role must be one of {sorted(ROLES)}")
        if not isinstance(m.get("content"), (str, list, type(None))):
            raise CadreError(f"messages[{i}]: content must be a string or a list of parts")


def last_image(messages: list[dict]):
    """The image of the latest user message: an image_url part (data URL or path) or an image part."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        for part in message.get("content") if isinstance(message.get("content"), list) else ():
            if not isinstance(part, dict):
                continue
            if part.get("type") == "image_url":
                url = part.get("image_url", {})
                url = url.get("url") if isinstance(url, dict) else url
                if isinstance(url, str) and url.startswith(("http://", "https://")):
                    raise ToolError("remote image URLs are not fetched; send the image as a base64 data URL")
                return url
            if part.get("type") == "image":
                return part.get("image")
        return None
    return None


def target_language(text: str) -> str:
    """The language a translation request names ('into French'), English by default."""
    match = _LANG.search(text)
    return match.group(1).capitalize() if match else "English"
