"""The ModelManager: the only place that loads and unloads models.

- A budget per device (explicit, or automatic from free RAM/VRAM); a model loads lazily on
  first use, with its estimate reserved first and its measured footprint (RSS or CUDA
  allocation difference) recorded after.
- Idle models are evicted least recently used first; pinned models (the primary) only
  when nothing else frees enough, and they are restored after the swap
  (`return_to_primary`). Idle models unload after their `keep_alive` TTL.
- LoRA adapters of one base share one loaded copy of it (manager_lora): the base is
  counted once, each adapter at its own measured size, and adapters are evicted LRU.
- Thread-safe: a model in use is never evicted, concurrent requests share one loaded
  model, loads are serialised (so each measurement is one model's), and a full per-model
  queue raises `Overloaded`.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time

from cadre.runtime import timing
from cadre.runtime.backends.base import Backend
from cadre.runtime.backends.identity import is_remote, quantizable, serving_class
from cadre.runtime.errors import BackendError, BudgetError, Overloaded
from cadre.runtime.inline import refuse_blocking
from cadre.runtime.keep_alive import start_reaper, ttl
from cadre.runtime.manager_lora import SharedBases
from cadre.runtime.planner import slot_estimate
from cadre.runtime.memory import (
    Meter,
    auto_budget,
    check_smallest,
    give_back_freed_memory,
    human,
    parse_budgets,
    resolve_device,
)
from cadre.runtime.registry import ModelCapability, ModelSpec, Registry
from cadre.runtime.slot import Lease, Slot, is_http_upstream

log = logging.getLogger("cadre.runtime")


class ModelManager:
    """Loads, shares and evicts the models of a registry within per-device budgets."""

    def __init__(self, registry: Registry | None = None, memory_budget="auto", keep_alive: float = 300.0,
                 quantize_int8: bool = False, max_concurrent: int = 4, max_queue: int = 32,
                 device: str = "auto", wait_timeout: float = 120.0, remote_max_concurrent: int = 256,
                 remote_max_queue: int = 256, lora=None):
        """`registry` None: the models of the project in effect (seed 002's `LLMModelManager()`);
        `lora`: runtime.lora settings (cadre.config.LoraSettings; default: shared bases)."""
        from cadre.config import LoraSettings

        if registry is None:
            from cadre.runtime.registry import default_registry

            registry = default_registry()
        self.registry, self.keep_alive, self.quantize_int8 = registry, keep_alive, quantize_int8
        self.max_concurrent, self.max_queue, self.wait_timeout = max_concurrent, max_queue, wait_timeout
        # an HTTP upstream is admitted by its own limit, not by a local model's slots
        self.remote_max_concurrent, self.remote_max_queue = remote_max_concurrent, remote_max_queue
        self.default_device = device
        self._budget_spec = parse_budgets(memory_budget)
        self.budgets: dict[str, int] = {}
        self.lora = lora or LoraSettings()
        self.slots: dict[str, Slot] = {}
        self._cond = threading.Condition()
        self.shared = SharedBases(self.lora, self.slots, self._cond, self._unload)  # LoRA bases
        self.slots.update({spec.name: self._slot(spec) for spec in registry})
        self._load_lock = threading.Lock()
        self._closed = threading.Event()
        check_smallest(self.slots.values(), self.need, self.budget)
        start_reaper(self, self._closed)

    @classmethod
    def from_config(cls, config, registry: Registry | None = None, memory_budget=None) -> ModelManager:
        """A manager with a project's runtime settings (`memory_budget` overrides the file's)."""
        rt = config.runtime
        return cls(registry or Registry.from_config(config), memory_budget or rt.memory_budget,
                   keep_alive=rt.keep_alive, quantize_int8=rt.quantize_int8, max_concurrent=rt.max_concurrent,
                   max_queue=rt.max_queue, device=rt.device, remote_max_concurrent=rt.remote_max_concurrent,
                   remote_max_queue=rt.remote_max_queue, lora=rt.lora)

    # ------------------------------------------------------------------ setup
    def _slot(self, spec: ModelSpec) -> Slot:
        if self.quantize_int8 and quantizable(spec) and spec.quantization is None:
            spec = spec.replace(quantization="int8")
        device = "remote" if is_remote(spec) else resolve_device(spec.device if spec.device != "auto" else self.default_device)
        if device.startswith("cuda") and spec.quantization == "int8":
            device = "cpu"  # dynamic int8 runs on the CPU
        slot = Slot(spec, device, http=is_http_upstream(spec.backend), base=self.shared.base_for(spec, device))
        slot.estimate = slot_estimate(slot)
        return slot

    def need(self, slot: Slot) -> int:
        """Bytes a load of `slot` adds (an adapter's includes its base while that is unloaded)."""
        return self.shared.need(slot)

    def bases_status(self) -> list[dict]:
        """Every shared LoRA base: its state, memory, and the adapters loaded on it."""
        return self.shared.status()

    def budget(self, device: str) -> int:
        """The byte budget of a device (automatic budgets are measured once)."""
        if device not in self.budgets:
            value = self._budget_spec.get(device, self._budget_spec.get("*", "auto"))
            if value == "auto" and device.startswith("cuda") and "cuda" in self._budget_spec:
                value = self._budget_spec["cuda"]
            self.budgets[device] = auto_budget(device) if value == "auto" else int(value)
        return self.budgets[device]

    # ------------------------------------------------------------------ use
    @contextlib.contextmanager
    def use(self, target: ModelCapability | str, return_to_primary: bool = True):
        """`with manager.use(ModelCapability.CODE_GENERATION) as model:` (or a model name):
        swap the model in, share it while in use, restore a displaced primary afterwards."""
        name, backend = self.acquire_any(target)
        try:
            yield backend
        finally:
            self.release(name)
            if return_to_primary:
                self.restore_pinned()

    def acquire_any(self, target: ModelCapability | str) -> tuple[str, Backend]:
        """Acquire a model by name, or the best loadable model for a capability."""
        if isinstance(target, str) and target in self.slots:
            return target, self.acquire(target)
        candidates = self.registry.candidates(target)
        if not candidates:
            raise BackendError(f"no model has the {ModelCapability.parse(target).value} capability")
        error = None
        for spec in candidates:  # the next model down serves when the best one cannot load
            try:
                return spec.name, self.acquire(spec.name)
            except (BackendError, BudgetError) as exc:
                error = exc
        raise error

    def acquire(self, name: str) -> Backend:
        """Mark a model in use (loading it first if needed) and return its backend."""
        if name not in self.slots:
            self.registry.get(name)  # raises UnknownModel naming the valid models
        slot = self.slots[name]
        deadline = time.monotonic() + self.wait_timeout
        with self._cond:
            self._admit(slot)
            try:
                while True:
                    if slot.state == "loaded" and slot.in_use < self.limits(slot)[0]:
                        slot.in_use += 1
                        slot.last_used = time.monotonic()
                        return slot.backend
                    refuse_blocking()  # an inline caller retries in a worker thread
                    if slot.state == "unloaded" and self._make_room(slot):
                        slot.state = "loading"  # reserves its estimate in `charge`
                        if slot.base is not None and slot.base.state == "unloaded":
                            slot.base.state = "loading"  # and its base's
                        break
                    self._wait(slot, deadline)
            finally:
                slot.waiting -= 1
        return self._load(slot)

    def limits(self, slot: Slot) -> tuple[int, int]:
        """(running, waiting) a model admits: remote upstreams by their own limit."""
        if slot.http:
            return self.remote_max_concurrent, self.remote_max_queue
        return self.max_concurrent, self.max_queue

    def _admit(self, slot: Slot) -> None:
        running, waiting = self.limits(slot)
        busy = slot.state == "loading" or slot.in_use >= running
        if busy and slot.waiting >= waiting:
            raise Overloaded(f"model {slot.spec.name!r} has {slot.waiting} requests waiting; retry later",
                             retry_after=max(1.0, (slot.last_load_ms or 1000) / 1000))
        slot.waiting += 1

    def _wait(self, slot: Slot, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Overloaded(f"model {slot.spec.name!r} could not be served within {self.wait_timeout:g}s "
                             f"(memory held by models in use)", retry_after=5.0)
        self._cond.wait(min(remaining, 1.0))

    def release(self, name: str) -> None:
        """End one use of a model; a TTL of 0 unloads it at once."""
        with self._cond:
            slot = self.slots[name]
            slot.in_use = max(0, slot.in_use - 1)
            slot.last_used = time.monotonic()
            if slot.in_use == 0 and ttl(slot, self.keep_alive) == 0 and not slot.spec.pinned:
                self._unload(slot)
            self._cond.notify_all()

    # ------------------------------------------------------------------ loading
    def _make_room(self, slot: Slot) -> bool:
        """Evict idle models (LRU, pinned last, the adapters sharing its base after the rest)
        until `slot` fits; False means wait."""
        if slot.device == "remote":
            return True
        if not self.shared.adapter_room(slot):
            return False
        budget, need = self.budget(slot.device), self.need(slot)
        if need > budget:
            raise BudgetError(f"model {slot.spec.name!r} needs ~{human(need)} but the {slot.device} memory "
                              f"budget is {human(budget)}; raise --memory-budget or pick a smaller model")
        idle = [s for s in self.slots.values() if s.device == slot.device and s.state == "loaded" and s.in_use == 0]
        idle.sort(key=lambda s: (s.spec.pinned, s.base is not None and s.base is slot.base, s.last_used))
        while self._used(slot.device) + self.need(slot) > budget and idle:
            self._unload(idle.pop(0), displaced=True)
        need = self.need(slot)
        if self._used(slot.device) + need <= budget:
            return True
        busy = any(s.device == slot.device and (s.in_use or s.state == "loading") for s in self.slots.values())
        if not busy:
            raise BudgetError(f"model {slot.spec.name!r} (~{human(need)}) does not fit the {slot.device} budget "
                              f"{human(budget)} even with every other model unloaded")
        return False

    def _used(self, device: str) -> int:
        return (sum(s.charge for s in self.slots.values() if s.device == device)
                + sum(b.charge for b in self.shared.bases.values() if b.device == device))

    def _load(self, slot: Slot) -> Backend:
        """Load outside the manager lock (one load at a time), measuring the footprint."""
        try:
            with self._load_lock:
                cls = serving_class(slot.spec)
                cls.prepare()
                self.shared.ensure_base(slot)
                started = time.perf_counter()  # load time proper: not the wait for the lock
                meter = Meter(slot.device)
                before = meter.read()
                backend = cls(slot.spec, slot.device)
                if slot.base is not None:
                    backend.host = slot.base.host  # an adapter swap: attach to the loaded base
                backend.load()
                measured = max(0, meter.read() - before)
                if slot.base is not None:  # an adapter's few MB drown in the RSS of batches running
                    measured = backend.tensor_bytes()  # beside its load: its loaded tensors are its size
            timing.loaded(time.perf_counter() - started)  # not the server's overhead (x-cadre-load-ms)
        except Exception as exc:
            with self._cond:
                slot.state, slot.error = "unloaded", str(exc)
                self.shared.drop_if_unused(slot)
                self._cond.notify_all()
            if isinstance(exc, (BackendError, BudgetError)):
                raise
            raise BackendError(f"model {slot.spec.name!r}: cannot load ({type(exc).__name__}: {exc})") from None
        return self._loaded(slot, backend, measured, time.perf_counter() - started)

    def _loaded(self, slot: Slot, backend: Backend, measured: int, seconds: float) -> Backend:
        with self._cond:
            slot.backend, slot.state, slot.error = backend, "loaded", None
            slot.measured, slot.tensors = measured, backend.tensor_bytes()
            slot.peak_measured = max(slot.peak_measured, measured)
            slot.loads, slot.load_seconds = slot.loads + 1, slot.load_seconds + seconds
            slot.last_load_ms = seconds * 1000
            slot.in_use += 1
            slot.last_used = time.monotonic()
            slot.displaced = False
            over = self._settle(slot)
            self._cond.notify_all()
        if over:
            self.release(slot.spec.name)
            with self._cond:
                self._unload(slot)
            raise BudgetError(over)
        log.info("loaded %s on %s in %.0f ms (measured %s, estimate %s)", slot.spec.name, slot.device,
                 seconds * 1000, human(measured), human(slot.estimate))
        return backend

    def _settle(self, slot: Slot) -> str | None:
        """After measuring: evict idle models if the real size overshot the reservation."""
        if slot.device == "remote":  # remote models hold no local memory (and have no budget)
            return None
        budget = self.budget(slot.device)
        idle = sorted((s for s in self.slots.values() if s.device == slot.device and s is not slot
                       and s.state == "loaded" and s.in_use == 0), key=lambda s: (s.spec.pinned, s.last_used))
        while self._used(slot.device) > budget and idle:
            self._unload(idle.pop(0), displaced=True)
        if self._used(slot.device) > budget:
            return (f"model {slot.spec.name!r} measured {human(slot.charge)} (estimate {human(slot.estimate)}), "
                    f"over the {slot.device} budget {human(budget)} with the models in use; the next try "
                    f"reserves the measured size")
        return None

    def _unload(self, slot: Slot, displaced: bool = False) -> None:
        """Drop a model (caller holds the lock; the model is idle)."""
        if slot.state != "loaded":
            return
        started = time.perf_counter()
        slot.backend.unload()
        slot.backend, slot.state = None, "unloaded"
        self.shared.drop_if_unused(slot)
        if slot.device == "cpu":
            give_back_freed_memory()
        slot.displaced = displaced and slot.spec.pinned
        slot.last_unload_ms = (time.perf_counter() - started) * 1000
        self._cond.notify_all()

    def load(self, name: str) -> None:
        """Load a model now (for warm-up); it stays loaded until evicted."""
        self.acquire(name)
        self.release(name)

    def unload(self, name: str) -> bool:
        """Unload an idle model; False when it is in use (it is never pulled from under a request)."""
        with self._cond:
            slot = self.slots[name]
            if slot.in_use:
                return False
            self._unload(slot)
            return True

    def respec(self, name: str, **changes) -> ModelSpec:
        """Change a model's spec (pinned, keep_alive, device, ...); a new device unloads the
        idle model so its next load lands there. A model in use is an error."""
        with self._cond:
            slot = self.slots[self.registry.get(name).name]
            spec = slot.spec.replace(**changes)
            fresh = self._slot(spec)
            if fresh.device != slot.device:
                if slot.in_use:
                    raise BudgetError(f"model {name!r} is in use; move it when it is idle")
                self._unload(slot)
                slot.device, slot.estimate, slot.base = fresh.device, fresh.estimate, fresh.base
            slot.spec = spec
            self.registry.add(spec, replace=True)
            return spec

    def restore_pinned(self) -> None:
        """Reload pinned models that were evicted to make room, when they fit without waiting."""
        for slot in list(self.slots.values()):
            if not slot.displaced:
                continue
            with self._cond:
                fits = slot.state == "unloaded" and self._fits_now(slot)
            if fits:
                try:
                    self.load(slot.spec.name)
                except (BackendError, BudgetError, Overloaded) as exc:
                    log.warning("could not restore %s: %s", slot.spec.name, exc)

    def _fits_now(self, slot: Slot) -> bool:
        need = slot.need
        idle = sum(s.charge for s in self.slots.values() if s.device == slot.device and s.state == "loaded"
                   and s.in_use == 0 and not s.spec.pinned)
        return self._used(slot.device) - idle + need <= self.budget(slot.device)

    # ------------------------------------------------------------------ keep_alive
    def reap(self) -> list[str]:
        """Unload idle, unpinned models whose keep_alive has passed; returns their names."""
        now, gone = time.monotonic(), []
        with self._cond:
            for slot in self.slots.values():
                if (slot.state == "loaded" and slot.in_use == 0 and not slot.spec.pinned
                        and now - slot.last_used >= ttl(slot, self.keep_alive)):
                    self._unload(slot)
                    gone.append(slot.spec.name)
        return gone

    def close(self) -> None:
        """Stop the keep_alive thread and unload every idle model."""
        self._closed.set()
        with self._cond:
            for slot in self.slots.values():
                if slot.in_use == 0:
                    self._unload(slot)

    # ------------------------------------------------------------------ one-call API
    def use_specialized_model(self, capability, prompt: str, max_tokens: int = 256, **sampling) -> str | None:
        """Load the best model for a capability, answer one prompt, restore the primary.
        Returns None when no model can serve (the caller keeps its fallback)."""
        try:
            with self.use(capability) as model:
                return model.invoke(prompt, max_tokens=max_tokens, **sampling)
        except (BackendError, BudgetError, Overloaded) as exc:
            log.warning("use_specialized_model(%s): %s", capability, exc)
            return None

    def load_specialized_model(self, capability, return_to_primary: bool = True) -> Lease | None:
        """The manual form: a lease on the model (`.invoke(...)` many times), released
        by `close()` or a `with` block; None when no model can serve."""
        try:
            name, backend = self.acquire_any(capability)
        except (BackendError, BudgetError, Overloaded) as exc:
            log.warning("load_specialized_model(%s): %s", capability, exc)
            return None
        return Lease(self, name, backend, return_to_primary)

    # ------------------------------------------------------------------ reporting
    def status(self) -> list[dict]:
        """Every model: state, device, memory (estimated, measured, tensors), loads, latency,
        seconds idle since its last use (None: never used) and its keep_alive."""
        now = time.monotonic()
        with self._cond:
            return [s.status(now, ttl(s, self.keep_alive)) for s in self.slots.values()]

    def used_bytes(self) -> dict[str, int]:
        """Bytes charged per device right now (what the budget is checked against)."""
        with self._cond:
            devices = {s.device for s in self.slots.values() if s.device != "remote"}
            return {d: self._used(d) for d in sorted(devices)}

