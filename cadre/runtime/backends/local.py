"""The `local` backend: transformers in-process.

It loads four kinds of model, told apart by what the path holds:
- a cadre checkpoint (cadre.json): a generative specialist answers in the Q/A format
  (a router folder named with `local` is served by the router backend, onnx.py);
- a LoRA adapter folder (cadre.json `{"type": "lora", "base": ...}` + PEFT files): under
  the manager, a named adapter on one shared copy of its base (`host`, a LoraHost, with
  mixed-adapter batches); alone (no host, or quantized), the base with the adapter merged in;
- a Hugging Face folder or hub name: answered through its chat template;
- a .gguf file or the name `smollm2-135m-instruct`: converted once into the user cache.
"""
from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cadre.errors import CadreError
from cadre.runtime.backends.base import (
    Backend,
    TextStream,
    last_user_text,
    local_sampling,
    register_backend,
)
from cadre.runtime.backends.quant4 import fit_cpu_kernels, load_kwargs  # light: bitsandbytes loads lazily
from cadre.runtime.errors import BackendError, ModelFilesMissing

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_STOP_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>")


class LocalOptions(BaseModel):
    """`options:` of a local model."""

    model_config = ConfigDict(extra="forbid")
    system_prompt: str | None = None   # prepended for chat-template models without one
    threads: int | None = None


class LocalBackend(Backend):
    """transformers in-process: cadre checkpoints, LoRA folders, HF folders, GGUF."""

    Options = LocalOptions
    needs_path = True
    quantizable = True
    routers_served_by = "onnx"  # a router folder given to `local` is served by the router backend

    def __init__(self, spec, device: str = "cpu"):
        super().__init__(spec, device)
        self.model = self.tokenizer = self.encoder = None
        self.kind = self.adapter_system = None
        self.host = None  # the LoraHost this adapter is served on, set by the manager before load()

    @classmethod
    def base_key(cls, spec) -> str | None:
        """The base a LoRA folder shares with its siblings (None: not an adapter, or quantized,
        which loads merged on its own)."""
        from cadre.runtime.backends import lora_host
        from cadre.runtime.backends.identity import backend_class

        try:
            if spec.quantization is not None or backend_class(spec.backend) is not cls \
                    or source_kind(spec.path) != "lora":
                return None
            return lora_host.base_key(spec.path)
        except CadreError:
            return None

    @classmethod
    def load_base(cls, key: str, device: str, max_batch: int = 8):
        """Load a base for adapters to share (the manager calls this, then attaches adapters)."""
        from cadre.runtime.backends.lora_host import load_host

        return load_host(key, device, max_batch)

    # ------------------------------------------------------------------ loading
    @classmethod
    def prepare(cls) -> None:
        """Import torch and transformers before a load is measured (a one-off per process)."""
        import torch  # noqa: F401
        from transformers import AutoModelForCausalLM, LlamaForCausalLM  # noqa: F401

    def load(self) -> None:
        """Load the model, then run one token through it so its weights are in memory."""
        try:
            self.kind = source_kind(self.spec.path)
            {"cadre": self._load_cadre, "lora": self._load_lora}.get(self.kind, self._load_hf)()
            if self.model is not None:
                self._quantize()
                self._warm_up()
        except MissingPath:
            self.unload()
            raise ModelFilesMissing(self.spec.name, self.spec.path, self.spec.capabilities) from None
        except CadreError as exc:
            self.unload()
            raise BackendError(f"model {self.spec.name!r}: {exc}") from None
        except (OSError, ValueError, RuntimeError, ImportError, KeyError) as exc:
            self.unload()
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BackendError(f"model {self.spec.name!r}: cannot load {self.spec.path} ({first})") from None
        self.loaded = True

    def _load_cadre(self) -> None:
        from cadre.modeling import open_checkpoint

        model, _, self.encoder = open_checkpoint(self.spec.path, **self._load_kwargs())
        self.model, self.tokenizer = self._place(model), self.encoder.tok

    def _load_lora(self) -> None:
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from cadre.checkpoint import read_metadata
        from cadre.pretrained import resolve_base

        folder = Path(self.spec.path)
        meta = read_metadata(folder)
        self.adapter_system = meta.get("system_prompt")
        if self.host is not None:  # a named adapter on the shared base
            self.host.add_adapter(self.spec.name, folder)
            self.tokenizer, self._lock = self.host.tokenizer, self.host.tokenizer_lock
            return
        saved = meta.get("base_path")  # where the trainer found the base; else resolve its name
        base = saved if saved and Path(saved).is_dir() else resolve_base(meta.get("base") or "smollm2-135m-instruct")
        if self.spec.quantization == "4bit":
            raise CadreError("4bit applies to cadre checkpoints and Hugging Face models; a LoRA folder "
                             "loads merged in full precision (use int8 or no quantization)")
        model = AutoModelForCausalLM.from_pretrained(base)
        model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()  # one dense model
        has_tok = (folder / "tokenizer_config.json").is_file() or (folder / "tokenizer.json").is_file()
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder) if has_tok else base)
        self.model = model.to(self.device).eval()

    def _load_hf(self) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from cadre.pretrained import resolve_base

        path = resolve_base(self.spec.path)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = self._place(AutoModelForCausalLM.from_pretrained(path, **self._load_kwargs())).eval()

    def _load_kwargs(self) -> dict:
        """`from_pretrained` keywords: NF4 weights for `quantization: 4bit`."""
        return load_kwargs(self.device) if self.spec.quantization == "4bit" else {}

    def _place(self, model):
        """The model on this backend's device (a 4-bit load is placed already)."""
        return fit_cpu_kernels(model) if self.spec.quantization == "4bit" else model.to(self.device)

    def _quantize(self) -> None:
        """int8 dynamic quantization of the Linear layers (CPU only)."""
        if self.spec.quantization != "int8":
            return
        if not self.device.startswith("cpu"):
            raise CadreError("int8 dynamic quantization runs on the CPU only; set device: cpu")
        import warnings

        import torch
        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():  # torch.ao is deprecated in favour of torchao, not installed here
            warnings.simplefilter("ignore")
            self.model = quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)

    def _warm_up(self) -> None:
        import torch

        with torch.inference_mode():
            self.model(input_ids=torch.tensor([[1]], device=self.device))

    def unload(self) -> None:
        """Drop the model and tokenizer (an adapter: its tensors on the shared base)."""
        if self.host is not None:
            self.host.remove_adapter(self.spec.name)
            self.host = None
        self.model = self.tokenizer = self.encoder = None
        self.loaded = False

    # ------------------------------------------------------------------ serving
    @property
    def passthrough(self) -> frozenset[str]:
        """Hugging Face chat models honour response_format (constrained decoding) and seed;
        cadre Q/A checkpoints take neither."""
        from cadre.runtime import constrained

        sampling = frozenset({"seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs"})
        if self.encoder is not None or not constrained.available():
            return sampling
        return sampling | {"response_format"}

    def stream(self, messages, max_tokens=None, temperature=None, top_p=None, stop=None, cancel=None,
               response_format=None, seed=None, presence_penalty=None, frequency_penalty=None,
               logprobs=None, top_logprobs=None) -> TextStream:
        """Answer chat messages token by token, using the KV cache (constrained to a JSON
        schema when `response_format` asks for one). Unset sampling: greedy, 256 tokens."""
        max_tokens, temperature, top_p = local_sampling(max_tokens, temperature, top_p)
        penalties = {"presence_penalty": presence_penalty or 0.0, "frequency_penalty": frequency_penalty or 0.0}
        if logprobs:
            penalties.update(trace=[], top=int(top_logprobs or 0))
        if self.model is None and self.host is None:
            raise BackendError(f"model {self.spec.name!r} is not loaded")
        with self._lock:
            ids, stop_ids = self._prompt(messages)
        if self.host is not None:
            tokens = self._adapter_tokens(ids, stop_ids, max_tokens, temperature, top_p, cancel, response_format,
                                          seed, penalties)
            cut = [] if response_format and response_format.get("type") != "text" else stop or []
            return TextStream(lambda out: self._pieces(out, ids, stop_ids, max_tokens, temperature, top_p, cut,
                                                       cancel, tokens, penalties=penalties))
        if response_format and response_format.get("type") != "text":
            if "response_format" not in self.passthrough:
                raise CadreError(f"model {self.spec.name!r} cannot honour response_format")
            from cadre.runtime.constrained import constrained_ids

            tokens = lambda: constrained_ids(self.model, self.tokenizer, ids, max_tokens, response_format,  # noqa: E731
                                             temperature, top_p, seed)
            return TextStream(lambda out: self._pieces(out, ids, stop_ids, max_tokens, temperature,
                                                       top_p, [], cancel, tokens()))
        return TextStream(lambda out: self._pieces(out, ids, stop_ids, max_tokens, temperature,
                                                   top_p, stop or [], cancel, seed=seed, penalties=penalties))

    def _adapter_tokens(self, ids, stop_ids, max_tokens, temperature, top_p, cancel, response_format, seed,
                        penalties):
        """Token ids from the shared base, queued when the answer is first read."""
        from cadre.runtime.backends.lora_host import request_row

        if response_format and response_format.get("type") != "text" and "response_format" not in self.passthrough:
            raise CadreError(f"model {self.spec.name!r} cannot honour response_format")
        row = request_row(self.spec.name, self.tokenizer, ids, stop_ids, max_tokens, temperature, top_p, cancel,
                          response_format, seed, penalties)
        host = self.host

        def lazy():
            yield from host.submit(row)
        return lazy()

    def _prompt(self, messages) -> tuple[list[int], set[int]]:
        """Prompt ids and stop ids: the Q/A format for cadre models, else the chat template."""
        if self.encoder is not None:
            ids, _ = self.encoder.prompt_ids(last_user_text(messages), budget=max(self.encoder.context // 2, 8))
            return ids, {self.encoder.eos, self.encoder.pad}
        tok = self.tokenizer
        system = self.options.system_prompt or self.adapter_system  # the prompt a LoRA was tuned with
        if system and messages and messages[0].get("role") != "system":
            messages = [{"role": "system", "content": system}, *messages]
        plain = [{"role": m.get("role", "user"), "content": _content(m)} for m in messages]
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(plain, tokenize=False, add_generation_prompt=True)
        else:
            text = "\n".join(m["content"] for m in plain) + "\n"
        from cadre.tokenizer import tail_ids

        ids = tail_ids(lambda part: tok.encode(part, add_special_tokens=False), text, self.spec.max_context)
        stops = {tok.eos_token_id} | {tok.convert_tokens_to_ids(t) for t in _STOP_TOKENS if t in tok.get_vocab()}
        return ids[-self.spec.max_context:], {s for s in stops if s is not None}

    def _pieces(self, out: TextStream, ids, stop_ids, max_tokens, temperature, top_p, stop, cancel,
                tokens=None, seed=None, penalties=None):
        from cadre.generation import stream_ids

        produced, emitted = [], ""
        out.usage.prompt_tokens = len(ids)
        trace = (penalties or {}).get("trace")
        tokens = tokens if tokens is not None else stream_ids(self.model, ids, max_tokens, stop_ids,
                                                              temperature, top_p, seed, **(penalties or {}))
        try:
            yield from self._decode(out, tokens, produced, emitted, stop, cancel, max_tokens)
        finally:
            if hasattr(tokens, "close"):
                tokens.close()  # a stop string or a closed stream ends the generation too
            if trace is not None:
                out.logprobs = [self._logprob_entry(t, lp, top) for t, lp, top in trace]

    def _logprob_entry(self, token: int, logprob: float, top: list) -> dict:
        def one(tid: int, lp: float) -> dict:
            text = self.tokenizer.decode([tid])
            return {"token": text, "logprob": lp, "bytes": list(text.encode("utf-8"))}
        return {**one(token, logprob), "top_logprobs": [one(t, v) for t, v in top]}

    def _decode(self, out: TextStream, tokens, produced, emitted, stop, cancel, max_tokens):
        for token in tokens:
            produced.append(token)
            out.usage.completion_tokens = len(produced)
            text = self.tokenizer.decode(produced)
            if text.endswith("\ufffd"):
                continue  # an incomplete UTF-8 sequence: wait for the next byte
            cut = _first_stop(text, stop)
            if cut is not None:
                yield text[len(emitted):cut]
                return
            yield text[len(emitted):]
            emitted = text
            if cancel is not None and cancel.is_set():
                out.finish_reason = "cancelled"
                return
        if len(produced) >= max_tokens:
            out.finish_reason = "length"

    # ------------------------------------------------------------------ memory
    def tensor_bytes(self) -> int:
        """Bytes of parameters and buffers, counting tied weights once (an adapter: its own)."""
        if self.host is not None:
            return self.host.adapters.get(self.spec.name, 0)
        if self.model is None:
            return 0
        seen, total = set(), 0
        for t in [*self.model.parameters(), *self.model.buffers()]:
            if t.data_ptr() not in seen:
                seen.add(t.data_ptr())
                total += t.numel() * t.element_size()
        return total

    def estimate_bytes(self) -> int | None:
        """Weight file sizes (fp32 on disk ≈ in memory), scaled for int8, plus overhead."""
        folder = _weights_folder(self.spec.path)
        if folder is None:
            return None
        size = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
        if self.kind == "lora" or (folder / "adapter_config.json").is_file():
            size += _lora_base_bytes(folder)
        if self.spec.quantization in ("int8", "4bit"):  # 4bit: NF4 Linear weights, embeddings as they are
            size = int(size * (0.35 if self.spec.quantization == "int8" else 0.3))
        return int(size * 1.15) + 4_000_000 if size else None


def _content(message: dict) -> str:
    from cadre.runtime.backends.base import message_text

    text = message_text(message.get("content"))
    if message.get("tool_calls") and not text:
        import json

        text = "\n".join(f"<tool_call>{json.dumps(c.get('function', c))}</tool_call>" for c in message["tool_calls"])
    return text


def _first_stop(text: str, stop: list[str]) -> int | None:
    hits = [text.find(s) for s in stop if s and s in text]
    return min(hits) if hits else None


class MissingPath(CadreError):
    """A model path that names nothing on disk (nor a known model name)."""


def source_kind(path: str | None) -> str:
    """cadre, lora, hf (folder), gguf, or name (a known name or hub id); missing → error."""
    if not path:
        raise CadreError("no path given")
    p = Path(path)
    if p.is_dir():
        if (p / "cadre.json").is_file():
            from cadre.checkpoint import read_metadata

            kind = read_metadata(p).get("type")
            return {"lora": "lora", "lora-merged": "hf"}.get(kind, "cadre")  # a merged LoRA is a plain HF model
        if (p / "config.json").is_file():
            return "hf"
        raise CadreError(f"{p}: neither a cadre checkpoint nor a Hugging Face folder (no cadre.json or config.json)")
    if p.is_file():
        if p.suffix == ".gguf":
            return "gguf"
        raise CadreError(f"{p}: a model path must be a folder or a .gguf file")
    from cadre.pretrained import SMOLLM2

    if path.lower() in {SMOLLM2, "smollm2", "huggingfacetb/smollm2-135m-instruct"}:
        return "name"
    if _HUB_ID.match(path) and not Path(path.split("/")[0]).exists():
        return "name"  # a hub id: normal transformers loading (network or local HF cache)
    raise MissingPath(f"{path}: model path not found")


def _weights_folder(path: str | None) -> Path | None:
    if not path:
        return None
    p = Path(path)
    if p.is_dir():
        return p
    from cadre.pretrained import SMOLLM2, cache_dir

    name = SMOLLM2 if path.lower() in {SMOLLM2, "smollm2"} else (p.stem if p.suffix == ".gguf" else None)
    cached = cache_dir() / "models" / name if name else None
    return cached if cached and cached.is_dir() else None


def _lora_base_bytes(folder: Path) -> int:
    try:
        from cadre.checkpoint import read_metadata

        base = _weights_folder(read_metadata(folder).get("base") or "smollm2-135m-instruct")
        return sum(f.stat().st_size for f in base.glob("*.safetensors")) if base else 0
    except CadreError:
        return 0


register_backend("local", LocalBackend)
