"""What a client may read: server paths, upstream URLs, object addresses and library
internals (ONNX Runtime's messages) are cut from client-facing messages, `reason`
fields and headers. The server log keeps the full text.
"""
from __future__ import annotations

import re
from functools import lru_cache

_OBJECT = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>|\bat 0x[0-9a-fA-F]+\b|\b0x[0-9a-fA-F]{6,}\b")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"()<>,]+")
_PATH = re.compile(r"(?<![\w.:/\\-])(?:~|\.{1,2})?/(?:[^\s'\"()<>,;/]+/?)+|\b[A-Za-z]:\\[^\s'\"()<>,;]+")
_ONNX = re.compile(r"\[?ONNXRuntime[^)\n]*|onnxruntime[\w.]*(?:Error|Fail|Exception)[^)\n]*|"
                   r"INVALID_PROTOBUF[^)\n]*", re.IGNORECASE)  # also when cut short ("[ONNXRuntimeErro...")
_MODEL = re.compile(r"\bmodel '([^']{1,80})'")


@lru_cache(maxsize=4096)  # route reasons repeat; four regex passes cost ~15 µs a request
def redact(text: str | None) -> str:
    """The text with paths, URLs, addresses and ONNX Runtime internals replaced."""
    text = _ONNX.sub("[runtime error]", text or "")
    text = _OBJECT.sub("[object]", text)
    text = _URL.sub("[url]", text)
    return _PATH.sub("[path]", text)


def backend_message(message: str) -> str:
    """A failed backend as a client should read it: which model, not where or why inside."""
    names = _MODEL.findall(message or "")
    if names:
        return f"model {names[-1]!r} failed to answer; the server log has the details"
    return "no model could answer this request; the server log has the details"
