"""Answering a planned request on the caller's event loop, for backends that can be
awaited (`supports_async`: the `openai` backend). The engine plans (routes, admits to the
model's queue) as usual; the upstream call itself then runs on the server's loop, so a
request waiting on a slow upstream holds a socket, not a worker thread.
"""
from __future__ import annotations

from cadre.runtime.types import StreamHandle


def attach_async(handle: StreamHandle, prepared, release, manager, sampling: tuple) -> None:
    """Give the handle `astream()` and `awhole()` over the prepared model."""
    max_tokens, temperature, top_p = sampling

    async def astream():
        from cadre.runtime.backends.openai_async import AsyncStream

        out = AsyncStream()
        try:
            first = True
            async for piece in prepared.backend.astream(out, prepared.messages, max_tokens,
                                                        temperature, top_p):
                if handle.cancelled.is_set():
                    handle.finish_reason = "cancelled"
                    return
                piece = piece.lstrip() if first else piece
                first = first and not piece
                if piece:
                    yield piece
            handle.usage, handle.finish_reason = out.usage, out.finish_reason
        except Exception as exc:  # the decision log must say this answer failed
            handle.error = str(exc) or type(exc).__name__
            raise
        finally:
            await _release(release, manager)

    async def awhole() -> str:
        try:
            text, handle.usage, handle.finish_reason = await prepared.backend.awhole(
                prepared.messages, max_tokens, temperature, top_p)
            return text.lstrip()
        except Exception as exc:
            handle.error = str(exc) or type(exc).__name__
            raise
        finally:
            await _release(release, manager)

    handle.astream, handle.awhole = astream, awhole


async def _release(release, manager) -> None:
    """Release the model; restoring a displaced pinned model may load it, so that runs in a
    worker thread rather than on the loop."""
    import anyio

    if any(slot.displaced for slot in manager.slots.values()):
        with anyio.CancelScope(shield=True):  # runs even when the request was cancelled
            await anyio.to_thread.run_sync(release)
    else:
        release()


def attach_proxy(handle: StreamHandle, plan, release, manager, sampling: tuple, remember) -> None:
    """Give the handle a `proxy` (runtime/proxy.py): the client's request, with the messages
    the plan chose and only the sampling fields the client set, for the upstream as it is."""
    from cadre.runtime.passthrough import wants_tool_call
    from cadre.runtime.proxy import Proxy

    set_sampling = {k: v for k, v in zip(("max_tokens", "temperature", "top_p"), sampling) if v is not None}
    body = {"messages": plan.prepared.messages, **set_sampling, **plan.fields}
    forced = "tools" in plan.fields and wants_tool_call(plan.fields.get("tool_choice"))
    handle.proxy = Proxy(handle, plan.prepared.backend, body, lambda: _release(release, manager), forced, remember)
