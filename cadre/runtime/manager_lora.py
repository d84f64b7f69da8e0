"""The manager's LoRA side: adapters of one base share one loaded copy of it.

A LoRA specialist's slot charges only its adapter (its measured size); the base it runs on
is a `BaseSlot`, loaded with the first adapter, charged once, and unloaded with the last.
`runtime.lora.max_adapters` caps the adapters loaded per base (vLLM's `max_loras`): a new
one evicts the least recently used idle sibling, or waits while all are in use.
"""
from __future__ import annotations

import logging
import time

from cadre.runtime.backends.base import get_backend
from cadre.runtime.memory import Meter, give_back_freed_memory, human
from cadre.runtime.slot import BaseSlot, Slot

log = logging.getLogger("cadre.runtime")


class SharedBases:
    """The manager's shared LoRA bases, owned by it (composition, not a mixin): the base
    slots, and what adapters need from them. It reads the manager's slot table and lock and
    unloads a sibling through the manager's own `unload` callback."""

    def __init__(self, settings, slots: dict, cond, unload):
        self.lora, self.slots, self._cond, self._unload = settings, slots, cond, unload
        self.bases: dict = {}  # "<base>@<device>" → BaseSlot, shared by that base's adapters

    def base_for(self, spec, device: str) -> BaseSlot | None:
        """The shared base of a LoRA spec on a device (created once), or None."""
        if device == "remote" or not self.lora.share_base:
            return None
        try:
            cls = get_backend(spec.backend)
        except Exception:  # an unknown backend is reported when the model is used
            return None
        key = getattr(cls, "base_key", lambda _spec: None)(spec)
        if key is None:
            return None
        from cadre.runtime.backends.lora_host import base_estimate

        name = f"{key}@{device}"
        if name not in self.bases:
            self.bases[name] = BaseSlot(key, device, estimate=base_estimate(key))
        return self.bases[name]

    def need(self, slot: Slot) -> int:
        """Bytes a load of `slot` adds: its own, plus its base's when that is not loaded yet."""
        base = slot.base
        return slot.need + (base.need if base is not None and base.state == "unloaded" else 0)

    def siblings(self, slot: Slot) -> list[Slot]:
        return [s for s in self.slots.values() if s.base is slot.base and s is not slot and s.state != "unloaded"]

    def adapter_room(self, slot: Slot) -> bool:
        """Under `max_adapters`: evict the least recently used idle sibling; False means wait."""
        cap = self.lora.max_adapters
        if slot.base is None or not cap:
            return True
        siblings = self.siblings(slot)
        idle = sorted((s for s in siblings if s.state == "loaded" and s.in_use == 0), key=lambda s: s.last_used)
        while len(siblings) >= cap and idle:
            victim = idle.pop(0)
            self._unload(victim, displaced=True)
            siblings.remove(victim)
        return len(siblings) < cap

    def ensure_base(self, slot: Slot) -> None:
        """Load the adapter's base if it is not loaded (caller holds the load lock)."""
        base = slot.base
        if base is None or base.host is not None:
            return
        with self._cond:
            base.state = "loading"
        cls = get_backend(slot.spec.backend)
        started, meter = time.perf_counter(), Meter(base.device)
        before = meter.read()
        try:
            host = cls.load_base(base.key, base.device, self.lora.max_batch)
        except Exception:
            with self._cond:
                base.state = "unloaded"
            raise
        measured = max(0, meter.read() - before)
        with self._cond:
            base.host, base.state, base.measured, base.tensors = host, "loaded", measured, host.base_bytes()
            base.loads += 1
            base.last_load_ms = (time.perf_counter() - started) * 1000
        log.info("loaded LoRA base %s on %s in %.0f ms (measured %s)", base.key, base.device,
                 base.last_load_ms, human(measured))

    def drop_if_unused(self, slot: Slot) -> None:
        """Unload an adapter's base once no adapter on it is loaded or loading (lock held)."""
        base = slot.base
        if base is None or base.state == "unloaded" or self.siblings(slot) or slot.state != "unloaded":
            return
        if base.host is not None:
            base.host.unload()
        base.host, base.state = None, "unloaded"
        if base.device == "cpu":
            give_back_freed_memory()

    def status(self) -> list[dict]:
        """Every shared base: its state, memory, and the adapters loaded on it."""
        with self._cond:
            return [{"base": b.key, "device": b.device, "state": b.state, "estimated_bytes": b.estimate,
                     "measured_bytes": b.measured, "tensor_bytes": b.tensors, "charged_bytes": b.charge,
                     "loads": b.loads, "last_load_ms": b.last_load_ms,
                     "adapters": [s.spec.name for s in self.slots.values() if s.base is b],
                     "loaded_adapters": [s.spec.name for s in self.slots.values()
                                         if s.base is b and s.state == "loaded"],
                     "batches": getattr(b.host, "batches", 0), "batched_rows": getattr(b.host, "batched_rows", 0),
                     "forwards": getattr(b.host, "forwards", 0)}
                    for b in self.bases.values()]
