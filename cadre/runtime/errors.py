"""The runtime's errors. All are CadreError, so the CLI prints them as one line; the
server maps them to HTTP statuses (UnknownModel 404, Overloaded 429, ModelFilesMissing 503,
BackendError 502).
"""
from __future__ import annotations

from cadre.errors import CadreError


class UnknownModel(CadreError):
    """A model name that is neither a registry model nor a router name."""


class Overloaded(CadreError):
    """A model's request queue is full; the client should retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = float(retry_after)


class BackendError(CadreError):
    """A backend failed: an endpoint that refuses, times out or errors, or a model that
    cannot load. The message names the model; other models keep serving. The server shows
    clients only the model's name unless `client_safe` says the message holds no internals."""

    def __init__(self, message: str, client_safe: bool = False):
        super().__init__(message)
        self.client_safe = client_safe


class ModelFilesMissing(BackendError):
    """A local model whose files are not there yet (seed 000's "Model not found"): the
    message says how to make them. `client_message` is the same without the server path."""

    TRAIN_TYPES = {"intent_classification": "router", "code_generation": "code",
                   "vision_captioning": "vision", "math": "math"}

    def __init__(self, name: str, path: str | None, capabilities=()):
        caps = [getattr(c, "value", c) for c in capabilities]
        if "specialist" in caps:  # a LoRA adapter: the specialist pipeline writes it
            made = f"`cadre specialist run {name}`"
            to_client = to_server = f"{made} (it writes runs/specialists/{name}/adapter)"
        else:
            kind = next((self.TRAIN_TYPES[c] for c in caps if c in self.TRAIN_TYPES), "NAME")
            train = f"cadre train --type {kind} --data YOUR_QA_FILE --output"
            to_client, to_server = f"`{train} DIR`", f"`{train} {path}`"
        self.client_message = (f"model {name!r} is not trained yet: its files are missing; make them with "
                               f"{to_client} and point the model's path in the project file at what it writes")
        super().__init__(f"model {name!r}: {path}: model files are missing; make them with {to_server}")


class BudgetError(CadreError):
    """A model cannot fit in its device's memory budget, even after evicting others."""


class ToolError(CadreError):
    """A tool call that cannot run: unknown tool, invalid JSON arguments, or a tool that raised."""
