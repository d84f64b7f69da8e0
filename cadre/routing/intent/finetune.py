"""The `finetune` router: all-MiniLM-L6-v2 fine-tuned on the user's intents with a linear
head (`finetune_train`), served from one ONNX graph (tokens → logits) by onnxruntime on
one thread. Scores are softmax(logits); thresholds, the out_of_scope class and the
fallback chain work as for every kind.

`auto` scores it only when `--train-budget` allows it: the budget (wall seconds) is
split between the fold it is scored on and the final fit (with --val, the model scored
on --val is the final one). Otherwise it says why it sat out.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from cadre.errors import CadreError
from cadre.routing.base import Router, register_router
from cadre.routing.intent.encoders import MINILM
from cadre.routing.intent.kinds import FitData, RouterKind, register_kind
from cadre.routing.store import canonical_labels

MODEL_FILE = "model.onnx"
TOKENIZER_DIR = "tokenizer"
# texts per ONNX run: one run over thousands of texts held GBs of attention activations
SCORE_BATCH = 64
MIN_EPOCHS = 1.0  # auto skips fine-tuning when the budget buys less than this many epochs


class FinetuneRouter(Router):
    """A fine-tuned MiniLM classifier in ONNX: softmax over its logits, (N, R)."""

    def __init__(self, labels, session, tokenizer, max_tokens: int = 64, **kwargs):
        super().__init__(canonical_labels(labels), **kwargs)
        self.session, self.tokenizer, self.max_tokens = session, tokenizer, int(max_tokens)
        self.training_report: dict = {}

    def score_batch(self, texts: Sequence[str]) -> np.ndarray:
        from cadre.routing.intent.embedding import softmax

        texts = [t if t.strip() else " " for t in texts]
        out = [self._logits(texts[i:i + SCORE_BATCH]) for i in range(0, len(texts), SCORE_BATCH)]
        return softmax(np.concatenate(out)) if out else np.zeros((0, len(self.labels)), dtype=np.float32)

    def _logits(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="np")
        ids = enc["input_ids"].astype(np.int64)
        return self.session.run(None, {"input_ids": ids, "attention_mask": enc["attention_mask"].astype(np.int64),
                                       "token_type_ids": np.zeros_like(ids)})[0].astype(np.float32)

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        """Copy the graph and tokenizer in, write cadre.json, atomically."""
        import shutil

        from cadre.checkpoint import write_metadata
        from cadre.fsutil import atomic_dir

        with atomic_dir(folder) as tmp:
            shutil.copyfile(self._graph, tmp / MODEL_FILE)
            self.tokenizer.save_pretrained(str(tmp / TOKENIZER_DIR))
            write_metadata(tmp, {"type": "router", "router_kind": "finetune", "encoder": f"{MINILM} (fine-tuned)",
                                 "labels": self.labels, "thresholds": self.thresholds,
                                 "default_route": self.default_route, "max_tokens": self.max_tokens,
                                 "training": self.training_report, **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path) -> "FinetuneRouter":
        from transformers import AutoTokenizer

        from cadre.routing.intent.nano import open_session
        from cadre.routing.store import finish, router_meta

        folder = Path(folder)
        meta = router_meta(folder, "finetune")
        if not (folder / MODEL_FILE).is_file() or not (folder / TOKENIZER_DIR).is_dir():
            raise CadreError(f"{folder}: corrupt finetune router (no {MODEL_FILE} or {TOKENIZER_DIR}/)")
        router = cls(meta["labels"], open_session(folder / MODEL_FILE, threads=1),
                     AutoTokenizer.from_pretrained(str(folder / TOKENIZER_DIR)), meta.get("max_tokens", 64))
        router._graph = folder / MODEL_FILE
        router.training_report = meta.get("training") or {}
        return finish(router, folder, meta)


def train_router(texts, labels, vectors: np.ndarray | None, budget_s: float | None, workdir: Path,
                 epochs: int | None = None, say=None) -> FinetuneRouter:
    """Fine-tune on (texts, labels), export to `workdir`/model.onnx and open it."""
    from cadre.routing.intent.finetune_train import FinetuneConfig, export_onnx, finetune
    from cadre.routing.intent.heads import fit_head
    from cadre.routing.intent.nano import open_session
    from cadre.routing.intent.auto_cv import EMBEDDING_HEAD

    labels = canonical_labels(labels)
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    cfg = FinetuneConfig(budget_s=budget_s, **({"epochs": epochs} if epochs else {}))
    head = None
    if vectors is not None and len(vectors) == len(texts):  # start from the frozen vectors' logistic regression
        head = fit_head(vectors, y, len(classes), **EMBEDDING_HEAD)
    model, tokenizer, report = finetune(texts, y, len(classes), cfg, head, say)
    workdir.mkdir(parents=True, exist_ok=True)
    export_onnx(model, workdir / MODEL_FILE)
    router = FinetuneRouter(classes, open_session(workdir / MODEL_FILE, threads=1), tokenizer, cfg.max_tokens)
    router._graph, router.training_report = workdir / MODEL_FILE, report
    return router


def _budget(data: FitData) -> float | None:
    return getattr(data.options, "train_budget", None)


def fit_finetune(data: FitData) -> FinetuneRouter:
    """The final fit: reuse the model auto scored on --val (it saw every training row);
    else train on all rows with what the budget has left."""
    scored = data.row("finetune")
    if scored is not None and scored.extra.get("router_on_all_rows") is not None:
        return scored.extra["router_on_all_rows"]
    budget = _budget(data)
    if scored is not None and budget:
        budget = max(budget - scored.extra.get("seconds", 0.0), budget / 2)
    x = data.feats.get(MINILM, (None,))[0]
    return train_router(data.texts, data.labels, x, budget, _workdir(data), getattr(data.options, "epochs", None),
                        data.log)


def score_finetune(data: FitData):
    """Train on every fold but the first (on the training rows, with --val), score the
    held-out rows; half the budget when a final fit on all rows follows."""
    from cadre.routing.intent.auto_cv import Scored, time_one_thread

    budget = _budget(data)
    if not budget:
        data.notes.append("finetune skipped: give --train-budget SECONDS to let auto fine-tune MiniLM")
        return None
    on_val = data.folds.rounds == 1 and data.n_train < len(data.texts)
    train, held = np.where(data.folds.index != 0)[0], np.where(data.folds.index == 0)[0]
    share = budget if on_val else budget / 2
    need = MIN_EPOCHS * epoch_seconds(len(train))
    if share < need:
        data.notes.append(f"finetune skipped: --train-budget {budget:.0f} s buys under {MIN_EPOCHS:g} epoch here "
                          f"(about {need:.0f} s for {len(train)} texts)")
        return None
    x = data.feats.get(MINILM, (None,))[0]
    router = train_router([data.texts[i] for i in train], [data.labels[i] for i in train],
                          None if x is None else x[train], share, _workdir(data), None, data.log)
    probs = np.asarray(router.score_batch([data.texts[i] for i in held]))
    cols = [data.classes.index(label) for label in router.labels]
    out = np.full((len(data.y), len(data.classes)), np.nan, dtype=np.float32)
    out[held] = 0.0
    out[np.ix_(held, cols)] = probs
    accuracy = float((out[held].argmax(axis=1) == data.y[held]).mean())
    p50, p99 = time_one_thread(router, [data.texts[i] for i in held], data.options.latency_samples)
    report = router.training_report
    note = f"1 fold; {report['epochs']} epochs in {report['seconds']} s ({report['stopped']}, {report['device']})"
    extra = {"seconds": report["seconds"], "router_on_all_rows": router if on_val else None}
    return Scored("finetune", [accuracy], out, 1.0, p50, p99, note, extra)


def epoch_seconds(n_texts: int) -> float:
    """Wall seconds one epoch takes, roughly (GPU: far less)."""
    from cadre.routing.intent.finetune_train import device

    return n_texts * (0.0003 if device() == "cuda" else SECONDS_PER_TEXT)


SECONDS_PER_TEXT = 0.012  # an estimate of one epoch's wall seconds per text on one core (batch 32, fp32)


def _workdir(data: FitData) -> Path:
    """Where graphs are exported before the router folder is written."""
    base = Path(data.output).parent if data.output and Path(data.output).parent.is_dir() else None
    return Path(tempfile.mkdtemp(prefix=".finetune-", dir=base))


register_router("finetune", FinetuneRouter, FinetuneRouter.load)
register_kind(RouterKind("finetune", "MiniLM fine-tuned on --data, served in ONNX (--train-budget)",
                         __name__, "finetune", fit_finetune, score_finetune, (MINILM,)))
