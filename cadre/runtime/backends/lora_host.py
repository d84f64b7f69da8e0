"""One loaded base model serving many LoRA adapters (multi-LoRA serving).

A `LoraHost` holds one copy of a base model wrapped in a PEFT model, with each LoRA
specialist loaded as a named adapter (a few MB each instead of a full copy of the base).
One scheduler thread is the only user of the model: requests queue up, and the ones
waiting when a batch starts are decoded together in one forward pass per token, each row
through its own adapter (PEFT's mixed-adapter batches, `adapter_names=`). Requests that
arrive while a batch runs join it between two steps (continuous batching).

Requests needing per-request state the batch does not carry (penalties, logprobs, a
seed, a JSON schema) run alone, with their adapter set active.

The manager (cadre.runtime.manager) loads and unloads hosts and adapters; the local
backend (cadre.runtime.backends.local) submits requests.
"""
from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cadre.runtime.backends.lora_batch import END as _END
from cadre.runtime.errors import BackendError

log = logging.getLogger("cadre.runtime")


@dataclass
class Row:
    """One request in the host's queue: its adapter, prompt and sampling, and where its tokens go."""

    adapter: str
    ids: list[int]
    max_tokens: int
    stop_ids: set[int]
    temperature: float = 0.0
    top_p: float = 1.0
    cancel: threading.Event | None = None
    exclusive: Callable | None = None  # model → token iterator, for a request that runs alone
    out: queue.Queue = field(default_factory=queue.Queue)
    abandoned: bool = False            # the reader stopped reading (a stop string, a closed stream)
    last: int = 0                      # the latest token id chosen (batch decoding)
    left: int = 0                      # tokens it may still decode (batch decoding)
    key: str = ""                      # its adapter's PEFT name, fixed when it is queued

    def stopped(self) -> bool:
        return self.abandoned or (self.cancel is not None and self.cancel.is_set())


class LoraHost:
    """A base model and its named LoRA adapters, with a scheduler that batches their requests."""

    def __init__(self, base_path: str, device: str = "cpu", max_batch: int = 8):
        self.base_path, self.device, self.max_batch = base_path, device, max(1, max_batch)
        self.base = self.peft = self.tokenizer = None
        self.adapters: dict[str, int] = {}          # name → bytes of its LoRA tensors
        self.keys: dict[str, str] = {}              # name → PEFT adapter name (model names may hold dots)
        self._next_key = 0
        self.tokenizer_lock = threading.Lock()      # one tokenizer, shared by the adapters' backends
        self._model_lock = threading.RLock()        # a forward step, or an adapter load/unload
        self._pending: collections.deque[Row] = collections.deque()
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._current: list[Row] = []               # the rows of the batch running now
        self._doomed: set[str] = set()              # adapters removed while a batch still held their rows
        self.batches = self.batched_rows = 0        # counters: batches (joined rows included) and their rows
        self.forwards = 0                           # forward passes of batches (one per token for all rows)

    # ------------------------------------------------------------------ life
    def load(self) -> None:
        """Load the base model and its tokenizer, and start the scheduler."""
        import peft  # noqa: F401  (imported here, so the first adapter's load time is its own)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.base_path)
        self.base = AutoModelForCausalLM.from_pretrained(self.base_path).to(self.device).eval()
        with torch.inference_mode():
            self.base(input_ids=torch.tensor([[1]], device=self.device))  # weights resident before measuring
        self._thread = threading.Thread(target=self._serve, name="cadre-lora-host", daemon=True)
        self._thread.start()

    def unload(self) -> None:
        """Stop the scheduler (failing what still waits) and drop the model."""
        with self._cond:
            self._stop = True
            waiting, self._pending = list(self._pending), collections.deque()
            self._cond.notify_all()
        for row in waiting:
            row.out.put(BackendError("the base model was unloaded"))
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.base = self.peft = self.tokenizer = None
        self.adapters.clear()

    def base_bytes(self) -> int:
        """Bytes of the base model's own parameters and buffers (tied weights once)."""
        if self.base is None:
            return 0
        return _tensor_bytes(t for n, t in _named_tensors(self.base) if "lora_" not in n)

    # ------------------------------------------------------------------ adapters
    def add_adapter(self, name: str, folder: str | Path) -> int:
        """Load a PEFT adapter folder under `name`; returns the bytes of its LoRA tensors."""
        from peft import PeftModel

        key, self._next_key = f"a{self._next_key}", self._next_key + 1
        with self._model_lock:
            if self.peft is None:
                self.peft = PeftModel.from_pretrained(self.base, str(folder), adapter_name=key,
                                                      torch_device=self.device)
                self.peft.eval()
            else:  # read onto the base's device (PEFT would pick the accelerator if there is one)
                self.peft.load_adapter(str(folder), adapter_name=key, torch_device=self.device)
            if not self.peft.active_adapters:
                self.peft.set_adapter(key)  # PEFT's forward needs some adapter active
            size = _tensor_bytes(t for n, t in _named_tensors(self.peft) if f".{key}." in n and "lora_" in n)
        self.keys[name], self.adapters[name] = key, size
        return size

    def remove_adapter(self, name: str) -> None:
        """Drop an adapter's tensors. The manager never removes one in use, but a request
        whose reader left may still hold a row: then it goes when that batch ends."""
        key = self.keys.pop(name, None)
        self.adapters.pop(name, None)
        with self._cond:
            if any(row.key == key for row in [*self._current, *self._pending]):
                self._doomed.add(key)
                return
        self._delete(key)

    def _delete(self, key: str | None) -> None:
        with self._model_lock:
            if self.peft is not None and key in self.peft.peft_config:
                self.peft.delete_adapter(key)

    # ------------------------------------------------------------------ requests
    def submit(self, row: Row) -> Iterator[int]:
        """Queue a request; its token ids arrive as the scheduler produces them."""
        return self.submit_all([row])[0]

    def submit_all(self, rows: list[Row]) -> list[Iterator[int]]:
        """Queue requests together, so they start in one batch (up to max_batch)."""
        with self._cond:
            if self._stop:
                raise BackendError("the base model was unloaded")
            for row in rows:
                if row.adapter not in self.keys:
                    raise BackendError(f"adapter {row.adapter!r} is not loaded on {self.base_path}")
                row.key = self.keys[row.adapter]
            self._pending.extend(rows)
            self._cond.notify_all()
        return [_read(row) for row in rows]

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                rows = self._take()
                self._current = list(rows)
            try:
                self._run(rows)
            except Exception as exc:  # one failed batch fails its rows, not the host
                log.warning("lora batch failed: %s", exc)
                for row in self._current:  # a row that had ended already has stopped reading
                    row.out.put(BackendError(f"generation failed ({type(exc).__name__}: {exc})"))
            with self._cond:
                self._current, doomed, self._doomed = [], self._doomed, set()
            for key in doomed:
                self._delete(key)

    def _take(self) -> list[Row]:
        """The next batch: one exclusive request alone, or up to max_batch batchable ones."""
        first = self._pending.popleft()
        if first.exclusive is not None:
            return [first]
        return [first, *self._more(self.max_batch - 1)]

    def _more(self, room: int) -> list[Row]:
        """Up to `room` batchable rows from the queue, in order (caller holds `_cond`)."""
        rows, rest = [], collections.deque()
        while self._pending:
            row = self._pending.popleft()
            (rows if row.exclusive is None and len(rows) < room else rest).append(row)
        self._pending = rest
        return rows

    def _joining(self, room: int) -> list[Row]:
        """Rows that arrived while a batch runs, to join it between two steps."""
        with self._cond:
            rows = [] if self._stop or room <= 0 else self._more(room)
            self._current.extend(rows)
        for row in rows:
            if row.stopped():
                row.out.put(_END)
        rows = [r for r in rows if not r.stopped()]
        self.batched_rows += len(rows)
        return rows

    def _run(self, rows: list[Row]) -> None:
        from cadre.runtime.backends.lora_batch import decode_batch

        for row in [r for r in rows if r.stopped()]:
            row.out.put(_END)  # cancelled while it waited
        rows = [r for r in rows if not r.stopped()]
        if not rows:
            return
        if rows[0].exclusive is not None:
            self._run_alone(rows[0])
            return
        self.batches, self.batched_rows = self.batches + 1, self.batched_rows + len(rows)
        decode_batch(_Counted(self), rows, lambda row: row.key, self._model_lock, self.device,
                     pad_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id or 0,
                     more=self._joining, max_batch=self.max_batch)

    def _run_alone(self, row: Row) -> None:
        with self._model_lock:
            self.peft.set_adapter(row.key)
            tokens = row.exclusive(self.peft)
        while not row.stopped():
            with self._model_lock:
                self.peft.set_adapter(row.key)  # an adapter load in between may have changed it
                token = next(tokens, _END)
            if token is _END:
                break
            row.out.put(token)
        row.out.put(_END)


class _Counted:
    """The host's PEFT model, counting forward passes."""

    def __init__(self, host: LoraHost):
        self.host, self.config = host, host.peft.config

    def __call__(self, **inputs):
        self.host.forwards += 1
        return self.host.peft(**inputs)


def request_row(name: str, tokenizer, ids, stop_ids, max_tokens, temperature, top_p, cancel, response_format,
                seed, penalties: dict) -> Row:
    """A request's row: batched with other adapters' requests, or alone when it needs what a
    batch row does not carry (a JSON schema, penalties, logprobs, a seeded sample)."""
    from cadre.generation import stream_ids

    row = Row(name, ids, max_tokens, stop_ids, temperature, top_p, cancel)
    if response_format and response_format.get("type") != "text":
        from cadre.runtime.constrained import constrained_ids

        row.exclusive = lambda model: constrained_ids(model, tokenizer, ids, max_tokens, response_format,
                                                      temperature, top_p, seed)
    elif ((seed is not None and temperature > 0) or "trace" in penalties
          or any(penalties.get(k) for k in ("presence_penalty", "frequency_penalty"))):
        row.exclusive = lambda model: stream_ids(model, ids, max_tokens, stop_ids, temperature, top_p, seed,
                                                 **penalties)
    return row


def _read(row: Row) -> Iterator[int]:
    """The reader's side of a row: token ids until the end (an error is raised here)."""
    try:
        while True:
            item = row.out.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        row.abandoned = True  # a reader that stops early frees its place in the batch


def _named_tensors(model):
    yield from model.named_parameters()
    yield from model.named_buffers()


def _tensor_bytes(tensors) -> int:
    seen, total = set(), 0
    for t in tensors:
        if t.data_ptr() not in seen:
            seen.add(t.data_ptr())
            total += t.numel() * t.element_size()
    return total


# ---------------------------------------------------------------------- which base, how big
def base_key(folder: str | Path) -> str:
    """The base an adapter folder was tuned on, as one string per base: the saved base
    folder when it is there, else the base's name (a known name → its cached folder)."""
    from cadre.checkpoint import read_metadata
    from cadre.pretrained import SMOLLM2, cache_dir

    meta = read_metadata(folder)
    saved = meta.get("base_path")
    if saved and Path(saved).is_dir():
        return str(Path(saved).resolve())
    name = meta.get("base") or SMOLLM2
    cached = cache_dir() / "models" / SMOLLM2
    if name.lower() in {SMOLLM2, "smollm2", "huggingfacetb/smollm2-135m-instruct"} and cached.is_dir():
        return str(cached.resolve())
    return name


def load_host(key: str, device: str, max_batch: int = 8) -> LoraHost:
    """A loaded LoraHost for a base key; a failure is one BackendError line."""
    from cadre.errors import CadreError

    try:
        host = LoraHost(base_path(key), device, max_batch)
        host.load()
    except (OSError, ValueError, RuntimeError, ImportError, KeyError, CadreError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendError(f"cannot load the LoRA base {key} ({first})") from None
    return host


def base_path(key: str) -> str:
    """What `from_pretrained` loads for a base key (a known name is converted once)."""
    from cadre.pretrained import resolve_base

    return key if Path(key).is_dir() else resolve_base(key)


def base_estimate(key: str) -> int | None:
    """The base's weight files (fp32 on disk ≈ in memory) plus overhead; None when unknown."""
    folder = Path(key)
    size = sum(f.stat().st_size for f in folder.glob("*.safetensors")) if folder.is_dir() else 0
    return int(size * 1.15) + 4_000_000 if size else None


def adapter_estimate(folder: str | Path) -> int:
    """An adapter's weight files plus a little (loaded, its tensors are the file's size)."""
    size = sum(f.stat().st_size for f in Path(folder).glob("adapter_model*"))
    return int(size * 1.05) + 64_000
