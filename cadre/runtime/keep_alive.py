"""keep_alive: idle models unload once their time-to-live has passed.

One daemon thread per manager wakes every quarter of the shortest TTL (at most every 5 s)
and asks the manager to `reap()`. It holds only a weak reference, so a manager nobody
uses any more can be collected; `ModelManager.close()` stops it.
"""
from __future__ import annotations

import threading
import weakref


def ttl(slot, default: float) -> float:
    """A model's keep_alive in seconds: its own, else the manager's."""
    return default if slot.spec.keep_alive is None else slot.spec.keep_alive


def start_reaper(manager, stop: threading.Event) -> None:
    """Start the reaper thread for `manager` (none when no model has a positive TTL)."""
    ttls = [t for t in (ttl(s, manager.keep_alive) for s in manager.slots.values()) if t > 0]
    if not ttls:
        return
    period, ref = max(0.05, min(min(ttls) / 4, 5.0)), weakref.ref(manager)

    def loop():
        while not stop.wait(period):
            live = ref()
            if live is None:
                return
            live.reap()
            del live

    threading.Thread(target=loop, name="cadre-keep-alive", daemon=True).start()
