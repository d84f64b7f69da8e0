"""The model deployment: local generative models (specialists, LoRA adapters, the primary)
behind `serve.multiplexed`.

Each replica has a ModelManager over the hosted models with the project's memory budget.
Serve's multiplexing keeps at most `capacity` models per replica, least recently used
out first, and routes a request with a model id to a replica that has that model loaded
(loading it elsewhere only when none has it). `capacity` is how many of the largest
hosted models fit the budget, so Serve evicts before the manager would have to; the
manager never unloads on its own (no keep_alive timer here).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
from collections import Counter

from cadre.server.scale.config import hosted, load_project

log = logging.getLogger("cadre.server")
NEVER = float("inf")


class ModelHost:
    """One model replica: loads hosted models on demand and generates with them."""

    def __init__(self, args: dict):
        from ray import serve

        from cadre.runtime.manager import ModelManager
        from cadre.runtime.registry import Registry

        project = load_project(args)
        specs = [s.replace(keep_alive=NEVER) for s in Registry.from_config(project) if hosted(s, project)]
        self.manager = ModelManager.from_config(project, Registry(specs))
        self.capacity = args.get("max_models_per_replica") or project.scale.models.max_models_per_replica \
            or capacity(self.manager)
        self.loads: Counter = Counter()    # loads per model on this replica
        self.served: Counter = Counter()   # requests per model answered here
        self.pid = os.getpid()
        self.replica = serve.get_replica_context().replica_tag
        async def load(model_id: str):  # a plain function: Serve keeps its LRU as an attribute of it
            return await self._load(model_id)
        self.get_model = serve.multiplexed(max_num_models_per_replica=self.capacity)(load)

    async def _load(self, model_id: str):
        """Serve calls this for a model id this replica does not hold (after evicting the
        least recently used one when full)."""
        if model_id not in self.manager.slots:
            from cadre.runtime.errors import UnknownModel

            raise UnknownModel(f"model {model_id!r} is not served by the model deployment")
        await asyncio.to_thread(self.manager.load, model_id)
        self.loads[model_id] += 1
        return Loaded(self.manager, model_id)

    async def describe(self) -> dict:
        """Load the request's model; what it honours (client fields), and whether it is a
        cadre Q/A checkpoint (which takes the user's text without a tool's instruction)."""
        loaded = await self.get_model(_model_id())
        backend = self.manager.slots[loaded.name].backend
        return {"passthrough": sorted(getattr(backend, "passthrough", ()) or ()),
                "qa": getattr(backend, "encoder", None) is not None}

    async def chat(self, messages, max_tokens, temperature, top_p, stop) -> dict:
        """A whole answer from the request's model."""
        loaded = await self.get_model(_model_id())
        self.served[loaded.name] += 1
        text, usage, finish = await asyncio.to_thread(loaded.chat, messages, max_tokens, temperature, top_p, stop)
        return {"text": text, "usage": dataclasses.asdict(usage), "finish_reason": finish}

    async def stream(self, messages, max_tokens, temperature, top_p, stop, fields):
        """Pieces of the request's model's answer; then a dict with usage and finish reason.
        A cancelled request (the client left) stops generation at the next piece."""
        loaded = await self.get_model(_model_id())
        self.served[loaded.name] += 1
        cancel, queue, loop = threading.Event(), asyncio.Queue(), asyncio.get_running_loop()
        worker = threading.Thread(target=loaded.pump, daemon=True,
                                  args=(queue, loop, cancel, (messages, max_tokens, temperature, top_p, stop), fields))
        worker.start()
        try:
            while True:
                kind, item = await queue.get()
                if kind == "error":
                    raise item
                yield item
                if kind == "end":
                    return
        finally:
            cancel.set()

    async def stats(self) -> dict:
        """This replica's loads per model, what it holds now, its process and capacity."""
        return {"replica": self.replica, "pid": self.pid, "capacity": self.capacity, "loads": dict(self.loads),
                "served": dict(self.served),
                "loaded": [s["name"] for s in self.manager.status() if s["state"] == "loaded"]}


class Loaded:
    """A model Serve's multiplexer holds; Serve calls `__del__` when it evicts it."""

    def __init__(self, manager, name: str):
        self.manager, self.name = manager, name

    def chat(self, messages, max_tokens, temperature, top_p, stop):
        backend = self.manager.acquire(self.name)
        try:
            return backend.chat(messages, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop)
        finally:
            self.manager.release(self.name)

    def pump(self, queue, loop, cancel, call, fields) -> None:
        """Generate in this thread, handing pieces to the replica's event loop."""
        put = lambda kind, item: loop.call_soon_threadsafe(queue.put_nowait, (kind, item))  # noqa: E731
        try:
            backend = self.manager.acquire(self.name)
        except Exception as exc:
            return put("error", exc)
        try:
            messages, max_tokens, temperature, top_p, stop = call
            stream = backend.stream(messages, max_tokens, temperature, top_p, stop, cancel=cancel, **fields)
            for piece in stream:
                put("piece", piece)
                if cancel.is_set():
                    break
            put("end", {"usage": dataclasses.asdict(stream.usage), "finish_reason": stream.finish_reason})
        except Exception as exc:
            put("error", exc)
        finally:
            self.manager.release(self.name)

    def __del__(self):
        try:
            if not self.manager.unload(self.name):
                log.info("evicted %s while in use; it unloads when its last request ends", self.name)
        except Exception:
            pass


def capacity(manager) -> int:
    """How many of the largest hosted models fit one replica's budget (at least 1)."""
    needs = [slot.need for slot in manager.slots.values() if slot.device != "remote"]
    if not needs:
        return 1
    device = next(s.device for s in manager.slots.values() if s.device != "remote")
    return max(1, manager.budget(device) // max(needs))


def _model_id() -> str:
    from ray import serve

    return serve.get_multiplexed_model_id()
