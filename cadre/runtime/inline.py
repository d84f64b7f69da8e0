"""Running a request's planning inline on the event loop when nothing in it can block.

Planning a request for a named model is a registry lookup and the manager's admission,
microseconds of work, unless the model must be loaded or its queue waited on. The server
tries it inline under `inline()`; the manager raises `WouldBlock` instead of loading or
waiting, and the server then runs the same call in a worker thread. This saves a thread
round trip per request, which on a busy two-core machine costs more than the work.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar

_INLINE: ContextVar[bool] = ContextVar("cadre_inline", default=False)


class WouldBlock(Exception):
    """Raised inside `inline()` where the call would load a model or wait for one."""


@contextlib.contextmanager
def inline():
    """Within this block, `refuse_blocking()` raises WouldBlock."""
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)


def refuse_blocking() -> None:
    """Called before a load or a wait: raises WouldBlock inside `inline()`."""
    if _INLINE.get():
        raise WouldBlock()
