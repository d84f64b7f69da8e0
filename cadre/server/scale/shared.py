"""State every ingress replica sees: upstream cool-downs in one named Ray actor.

`CooldownBoard` (the actor) keeps the failure windows and cool-downs with wall-clock
times. `SharedCooldowns` is what each replica's gateway uses in place of its own
`Cooldowns`, with the same methods: a failure is reported to the board at once (and the
answer says which models cool now), and a background thread copies the board's
cool-downs every `REFRESH_S`, so choosing a model never waits on the actor. One
replica's knowledge of a dead upstream reaches the others within `REFRESH_S`.
"""
from __future__ import annotations

import logging
import threading
import time

from cadre.runtime.gateway.failover import Cooldowns, CoolingView

log = logging.getLogger("cadre.server")
REFRESH_S = 0.5
BOARD_NAME = "cadre-cooldowns"


class CooldownBoard:
    """The actor's state: one Cooldowns, on wall-clock time (replicas run on several hosts)."""

    def __init__(self, allowed_fails: int, window_s: float, cooldown_s: float):
        self.cooldowns = Cooldowns(allowed_fails, window_s, cooldown_s, clock=time.time)

    def failed(self, name: str) -> tuple[bool, dict]:
        """Count one failure of `name`; whether it started a cool-down, and who cools now."""
        started = self.cooldowns.failed(name)
        return started, self.cooldowns.snapshot()

    def snapshot(self) -> dict:
        """Models cooling now → seconds left."""
        return self.cooldowns.snapshot()

    def started(self) -> int:
        """Cool-downs started by every replica together."""
        return self.cooldowns.cooldowns_started


def board(settings, namespace: str | None = None):
    """The named board actor, created by whichever replica asks first (detached, so it
    outlives that replica; `cadre serve --ray` ends it with Ray)."""
    import ray

    actor = ray.remote(num_cpus=0, max_restarts=-1)(CooldownBoard)
    return actor.options(name=BOARD_NAME, namespace=namespace, get_if_exists=True, lifetime="detached").remote(
        settings.allowed_fails, settings.fail_window_s, settings.cooldown_s)


class SharedCooldowns(CoolingView):
    """A replica's view of the board, with Cooldowns' interface."""

    def __init__(self, actor, refresh_s: float = REFRESH_S, clock=time.monotonic):
        self.actor, self.refresh_s, self.clock = actor, refresh_s, clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()
        self.cooldowns_started = 0   # started by this replica's failures
        self._stop = threading.Event()
        threading.Thread(target=self._refresh_loop, name="cadre-cooldowns", daemon=True).start()

    def failed(self, name: str) -> bool:
        """Report one failure; True when it starts a cool-down (here or anywhere)."""
        import ray

        try:
            started, cooling = ray.get(self.actor.failed.remote(name), timeout=5)
        except Exception as exc:  # the board being away must not fail a request
            log.warning("cool-down board unreachable: %s", exc)
            return False
        self._set(cooling)
        if started:
            self.cooldowns_started += 1
        return started

    def refresh(self) -> None:
        """Copy the board's cool-downs now."""
        import ray

        self._set(ray.get(self.actor.snapshot.remote(), timeout=5))

    def close(self) -> None:
        self._stop.set()

    def _set(self, cooling: dict) -> None:
        """Merge a copy of the board: a cool-down only ends by running out, so the later end
        wins (a refresh sent before a failure may arrive after its answer)."""
        now = self.clock()
        with self._lock:
            until = {name: t for name, t in self._until.items() if t > now}
            for name, left in cooling.items():
                until[name] = max(until.get(name, 0.0), now + left)
            self._until = until

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.refresh_s):
            try:
                self.refresh()
            except Exception:  # keep the last copy; the next round tries again
                pass
