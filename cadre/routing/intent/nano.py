"""The `nano` router: a small Llama sequence classifier trained by `cadre train --type
router` (or `cadre router train --kind nano`), served on the CPU.

Fast path: ONNX Runtime on one thread when onnxruntime is installed and the folder holds
`model.onnx` (exported at train time, or once on first load, atomically; the lean
forward of `nano_graph`, which finishes only the pooled token in the last layer).
Otherwise the safetensors model runs through torch on one thread.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing.base import Router, register_router
from cadre.routing.store import canonical_labels, finish, router_meta

log = logging.getLogger("cadre.routing")

ONNX_FILE = "model.onnx"
PARITY_TOLERANCE = 1e-4
MAX_BATCH = 64
GRAPH_KEY = "cadre_graph"  # ONNX metadata: which forward was exported


def onnx_available() -> bool:
    """Whether onnxruntime can be imported."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class NanoRouter(Router):
    """Softmax over a classifier checkpoint's labels, one ONNX or torch call per batch."""

    def __init__(self, labels, tokenizer, context: int, model=None, session=None, threads: int = 1, **kwargs):
        super().__init__(canonical_labels(labels), **kwargs)
        self.tok, self.context, self.model, self.session, self.threads = tokenizer, context, model, session, threads
        self.pad = tokenizer.token_to_id("<|pad|>")
        self._truncated: set[str] = set()

    @property
    def backend(self) -> str:
        """"onnx" or "torch": which runtime scores the texts."""
        return "onnx" if self.session is not None else "torch"

    @classmethod
    def load(cls, folder: str | Path, prefer_onnx: bool = True, threads: int = 1) -> "NanoRouter":
        """Open a router folder: ONNX Runtime when possible (exporting once), else torch."""
        from cadre.checkpoint import check_complete
        from cadre.tokenizer import load_tokenizer

        folder = Path(folder)
        meta = router_meta(folder, "nano")
        check_complete(folder)
        tok = load_tokenizer(str(folder / "tokenizer.json"))
        context = _context(folder)
        session = _session(folder, threads) if prefer_onnx and onnx_available() else None
        model = None if session is not None else _torch_model(folder)
        router = cls(meta["labels"], tok, context, model=model, session=session, threads=threads)
        return finish(router, folder, meta)

    def encode(self, text: str) -> tuple[list[int], bool]:
        """Token ids `<|bos|><|q|> text <|a|>` cut to the context, and whether it was cut."""
        from cadre.tokenizer import encode_prompt

        return encode_prompt(self.tok, text, self.context)

    def logits_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits, shape (N, R)."""
        encoded = [self.encode(t) for t in texts]
        self._truncated = {t for t, (_, cut) in zip(texts, encoded) if cut}
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i][0]))  # similar lengths share a batch
        for start in range(0, len(order), MAX_BATCH):
            rows = order[start:start + MAX_BATCH]
            ids, mask = _pad([encoded[i][0] for i in rows], self.pad)  # (B, T), (B, T)
            out[rows] = self._run(ids, mask)
        return out

    def score_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax probabilities, shape (N, R), aligned with `self.labels`."""
        logits = self.logits_batch(texts)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def input_note(self, text: str) -> str:
        """Says when the text was cut to the model's context."""
        return f"input truncated to {self.context} tokens" if text in self._truncated else ""

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.session is not None:
            return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                out = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
            return out.logits.float().numpy()
        finally:
            torch.set_num_threads(previous)


def _pad(rows: list[list[int]], pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad id lists: (B, T) ids and mask; the classifier pools the last non-pad token."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad, dtype=np.int64)  # (B, T)
    mask = np.zeros((len(rows), width), dtype=np.int64)  # (B, T)
    for i, r in enumerate(rows):
        ids[i, :len(r)], mask[i, :len(r)] = r, 1
    return ids, mask


def _context(folder: Path) -> int:
    import json

    try:
        return int(json.loads((folder / "config.json").read_text())["max_position_embeddings"])
    except (OSError, ValueError, KeyError, TypeError):
        raise CadreError(f"{folder}: corrupt config.json (no max_position_embeddings)") from None


def _torch_model(folder: Path):
    from cadre.modeling import load_checkpoint

    model, _ = load_checkpoint(folder)
    return model


def _session(folder: Path, threads: int):
    """An ONNX Runtime session, exporting model.onnx first when it is missing, stale or
    from before the lean graph (exported once more, then kept)."""
    path = folder / ONNX_FILE
    weights = folder / "model.safetensors"
    session = None
    if path.is_file() and path.stat().st_mtime >= weights.stat().st_mtime:
        session = open_session(path, threads)
        if GRAPH_KEY in session.get_modelmeta().custom_metadata_map:
            return session
    try:
        export_onnx(folder)
    except (OSError, RuntimeError, CadreError) as exc:  # read-only folder, exporter failure
        log.warning("%s: ONNX export failed (%s); using %s", folder, str(exc).splitlines()[0],
                    "the existing model.onnx" if session is not None else "torch")
        return session
    return open_session(path, threads)


def open_session(path: str | Path, threads: int = 1):
    """An ONNX Runtime CPU session with `threads` intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt graphs
        raise CadreError(f"{path}: cannot open ONNX model ({str(exc).splitlines()[0]})") from None


def export_onnx(folder: str | Path) -> Path:
    """Export the classifier to `folder/model.onnx` atomically, after a parity check
    (ONNX vs torch logits within 1e-4) on a few sample inputs. The lean graph
    (`nano_graph`) when it covers the model and passes the check, else the generic one."""
    import torch

    from cadre.routing.intent import nano_graph

    folder = Path(folder)
    model = _torch_model(folder)
    sample = torch.randint(16, model.config.vocab_size, (2, 12))  # (B, T)
    graphs = [("generic", _logits_only(model))]
    if nano_graph.supports(model):
        graphs.insert(0, (nano_graph.GRAPH, nano_graph.LeanClassifier(model)))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model.", suffix=".onnx.tmp")
    from cadre.fsutil import share_with_umask

    share_with_umask(fd)  # mkstemp's 0600 would hide the file from other users
    os.close(fd)
    try:
        for i, (name, wrapper) in enumerate(graphs):
            _export(wrapper.eval(), sample, tmp)
            _mark(tmp, name)
            try:
                check_parity(model, open_session(tmp), model.config.vocab_size, model.config.pad_token_id)
                break
            except CadreError as exc:
                if i == len(graphs) - 1:
                    raise
                log.warning("%s: the %s graph failed its parity check (%s); exporting the generic one",
                            folder, name, exc)
        os.replace(tmp, folder / ONNX_FILE)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return folder / ONNX_FILE


def _mark(path: str, graph: str) -> None:
    """Record which forward the file holds, in the model's metadata."""
    import onnx

    model = onnx.load(path)
    del model.metadata_props[:]
    model.metadata_props.add(key=GRAPH_KEY, value=graph)
    onnx.save(model, path)


def _export(wrapper, sample, path: str) -> None:
    """TorchScript export (about a second); the dynamo exporter if that fails."""
    import warnings

    import torch

    names = dict(input_names=["input_ids", "attention_mask"], output_names=["logits"])
    args = (sample, torch.ones_like(sample))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            axes = {n: {0: "batch", 1: "tokens"} for n in names["input_names"]}
            torch.onnx.export(wrapper, args, path, dynamo=False, dynamic_axes=axes, opset_version=18, **names)
        except Exception:  # noqa: BLE001 — the legacy exporter may be unavailable; try dynamo
            batch, tokens = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("tokens", min=2, max=8192)
            shapes = {n: {0: batch, 1: tokens} for n in names["input_names"]}
            program = torch.onnx.export(wrapper, args, dynamo=True, dynamic_shapes=shapes, **names)
            program.save(path, external_data=False)


def check_parity(model, session, vocab_size: int, pad: int, tolerance: float = PARITY_TOLERANCE) -> float:
    """Largest |ONNX - torch| logit difference over padded and unpadded batches; raises if too big."""
    import torch

    generator = torch.Generator().manual_seed(0)
    worst = 0.0
    for batch, tokens in ((1, 5), (3, 17), (1, 64)):
        ids = torch.randint(16, vocab_size, (batch, tokens), generator=generator)  # (B, T)
        mask = torch.ones_like(ids)
        if batch > 1:
            ids[-1, -4:], mask[-1, -4:] = pad, 0  # one right-padded row
        with torch.no_grad():
            ref = model(input_ids=ids, attention_mask=mask).logits.float().numpy()
        got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    if worst >= tolerance:
        raise CadreError(f"ONNX export differs from torch by {worst:.2e} (tolerance {tolerance:.0e})")
    return worst


def _logits_only(model):
    """The HF classifier wrapped so that the exported graph has one output, `logits`."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits  # (B, R)

    return LogitsOnly(model)


register_router("nano", NanoRouter, NanoRouter.load)
