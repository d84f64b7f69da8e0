"""Setting up a training run (data, tokenizer, model, optimizer, resumed state) and
saving it: the `setup` and `save` stages of the trainer."""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cadre.console import warn
from cadre.errors import CadreError
from cadre.encoding import IGNORE, Encoded, ExampleEncoder, collate
from cadre.training.state import STATE_FILE, load_optimizer, save_optimizer
from cadre.training.options import FEW_PAIRS, TrainConfig, TrainState, resolve_device

log = logging.getLogger("cadre.train")
# A router's recipe, recorded in its cadre.json.
RECIPE_KEYS = ("teacher", "distill_alpha", "word_dropout", "subword_dropout", "length_buckets", "epochs",
               "batch_size", "lr", "weight_decay", "seed", "model_size")


@dataclass
class Run:
    """The live objects of one training run."""

    model: object
    optimizer: object
    encoder: ExampleEncoder
    tokenizer_json: str  # the tokenizer as read at setup, saved with every checkpoint
    train: list[Encoded]
    val: list[Encoded]
    labels: list[str] | None
    state: TrainState
    device: str
    preset: str
    data_hash: str
    truncated: int
    batch_size: int

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.train) // self.batch_size)


@dataclass
class InMemoryData:
    """Router texts and labels given in memory instead of --data files (`--kind auto`'s
    nano, trained per fold), with the teacher's probabilities over the sorted labels:
    (N, C) for the texts, (M, C) for optional unlabelled transfer texts. Not resumable."""

    texts: list[str]
    labels: list[str]
    teacher: object = None            # (N, C) array, or None
    unlabeled: list[str] = field(default_factory=list)
    unlabeled_teacher: object = None  # (M, C) array


def prepare(cfg: TrainConfig, data: InMemoryData | None = None) -> Run:
    """Validate everything first, so a bad flag or file writes nothing."""
    import torch

    from cadre import presets
    from cadre.tokenizer import load_tokenizer, tokenizer_file

    device = resolve_device(cfg.device)
    _check_regularisers(cfg)
    preset = presets.from_name(cfg.model_size, **({"context": cfg.context} if cfg.context else {}))
    tok_path = tokenizer_file(cfg.tokenizer or _init_tokenizer(cfg))
    examples, dhash = _memory_examples(data) if data is not None else _load_data(cfg)
    labels = _labels(cfg, examples)
    torch.manual_seed(cfg.seed)
    encoder = ExampleEncoder(load_tokenizer(str(tok_path)), preset.context)
    train, val, truncated = _encode_split(cfg, examples, labels, encoder, data)
    model = _model(cfg, preset, encoder, labels).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    run = Run(model, optimizer, encoder, tok_path.read_text(encoding="utf-8"), train, val, labels, TrainState(), device,
              preset.name, dhash, truncated, cfg.batch_size)
    if cfg.resume:
        _restore(run, Path(cfg.resume))
    return run


def resume_config(cfg: TrainConfig) -> TrainConfig:
    """The saved run's config, with --epochs (if given) and --quiet taken from this call."""
    folder = Path(cfg.resume)
    state_file = folder / STATE_FILE
    if not state_file.is_file():
        raise CadreError(f"{folder}: nothing to resume (no {STATE_FILE})")
    saved = _saved_config(state_file)
    saved.update(output=str(folder), resume=str(folder), quiet=cfg.quiet)
    saved.setdefault("teacher", "none")  # a run saved before the regularisers existed trains on without them
    saved.setdefault("subword_dropout", 0.0)
    if cfg.epochs:
        saved["epochs"] = cfg.epochs
    return TrainConfig(**saved)


RUN_IDENTITY_SKIPS = ("output", "resume", "quiet")  # flags that do not change what is trained


def interrupted_run(cfg: TrainConfig) -> Path | None:
    """The output folder when it holds a checkpoint of this very run (the same settings,
    saved after an epoch): rerunning the same `cadre train` command then resumes there
    instead of refusing. None when there is no such run (or its state cannot be read)."""
    folder = Path(cfg.resolved().output)
    state_file = folder / STATE_FILE
    if not state_file.is_file():
        return None
    try:
        saved = _read_state(state_file)["config"]
    except CadreError:
        return None
    wanted = asdict(cfg.resolved())
    same = all(saved.get(k) == v for k, v in wanted.items() if k not in RUN_IDENTITY_SKIPS)
    return folder if same else None


def _init_tokenizer(cfg: TrainConfig) -> Path | None:
    """With --init-from, the source model's own tokenizer (its embeddings are indexed by it)."""
    if cfg.init_from and (Path(cfg.init_from) / "tokenizer.json").exists():
        return Path(cfg.init_from) / "tokenizer.json"
    return None


def _read_state(state_file: Path) -> dict:
    """trainer_state.json as a dict, or a one-line CadreError when it is corrupt."""
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CadreError(f"{state_file}: corrupt trainer state ({type(exc).__name__})") from None
    ok = (isinstance(state, dict) and isinstance(state.get("config"), dict)
          and all(isinstance(state.get(k), int) and not isinstance(state.get(k), bool) for k in ("epoch", "global_step"))
          and isinstance(state.get("history"), list))
    if not ok:
        raise CadreError(f"{state_file}: corrupt trainer state (needs config, epoch, global_step, history)")
    return state


def _saved_config(state_file: Path) -> dict:
    """The saved run's settings; refuses ones this version of cadre does not know."""
    from dataclasses import fields

    saved = dict(_read_state(state_file)["config"])
    unknown = sorted(set(saved) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise CadreError(f"{state_file}: written by a newer cadre (unknown settings: {', '.join(unknown)}); "
                         "resume it with that version")
    return saved


def _load_data(cfg: TrainConfig):
    from cadre.data import load_examples
    from cadre.data.splits import data_hash, dedupe

    if not cfg.data:
        raise CadreError("no --data given")
    examples = [ex for path in cfg.data for ex in load_examples(path)]
    examples, dropped = dedupe(examples)
    if dropped:
        log.info("dropped %d near-duplicate examples", dropped)
    if len(examples) < FEW_PAIRS:
        warn(f"only {len(examples)} pairs: aim for 100+ (500+ for good results); training goes on")
    return examples, data_hash(examples)


def _memory_examples(data: InMemoryData):
    from cadre.data.examples import Example
    from cadre.data.splits import data_hash

    examples = [Example(question=t, label=label, source="<memory>") for t, label in zip(data.texts, data.labels)]
    return examples, data_hash(examples)


def _labels(cfg: TrainConfig, examples) -> list[str] | None:
    if not cfg.is_router:
        return None
    missing = [ex.source for ex in examples if ex.label is None]
    if missing:
        raise CadreError(f"{missing[0]}: router examples need a label (A: [E:tool]intent, or a label column)")
    if cfg.teacher.startswith("router:"):  # a router's labels are canonical (oos is out_of_scope)
        from cadre.labels import canonical_label

        for ex in examples:
            ex.label = canonical_label(ex.label)
    labels = sorted({ex.label for ex in examples})
    if len(labels) < 2:
        raise CadreError(f"router data has a single class ({labels[0]!r}); a router needs at least two")
    return labels


def _encode_split(cfg, examples, labels, encoder, data: InMemoryData | None = None):
    from cadre.data.splits import train_val_split

    train_ex, val_ex = train_val_split(examples, cfg.val_split, cfg.seed)
    index = {label: i for i, label in enumerate(labels or [])}

    def enc(ex):
        return encoder.classification(ex.question, index[ex.label]) if labels else encoder.causal(ex.question, ex.answer)

    train, val = [enc(e) for e in train_ex], [enc(e) for e in val_ex]
    if not train:
        raise CadreError("no training examples left after the validation split")
    if labels and cfg.teacher == "tfidf":
        _attach_teacher(train, train_ex, len(labels), cfg)
    elif labels and cfg.teacher != "none":
        train += _attach_given(cfg, train, train_ex, labels, encoder, data)
    return train, val, sum(e.truncated for e in train + val)


def _attach_given(cfg, train, train_ex, labels, encoder, data) -> list[Encoded]:
    """A router teacher's (or given) probabilities on the training examples, and the
    unlabelled transfer texts, which carry the teacher term only (gold IGNORE)."""
    from cadre.encoding import IGNORE

    if data is not None:
        probs, extra, extra_probs = data.teacher, list(data.unlabeled), data.unlabeled_teacher
        if probs is None:
            return []
    elif not cfg.teacher.startswith("router:"):
        raise CadreError("--teacher given takes probabilities passed in memory (a Python caller), not files")
    else:
        from cadre.training.regularize import router_teacher

        probs, extra, extra_probs = router_teacher(cfg.teacher.removeprefix("router:"), train_ex, labels, cfg.unlabeled)
    for encoded, row in zip(train, probs):
        encoded.soft = [float(x) for x in row]
    return [Encoded(encoder.prompt_ids(text)[0], IGNORE, soft=[float(x) for x in row], text=text)
            for text, row in zip(extra, extra_probs if extra else ())]


def _check_regularisers(cfg: TrainConfig) -> None:
    from cadre.training.regularize import TEACHERS

    if cfg.teacher.startswith("router:") and cfg.is_router:
        return _check_fractions(cfg)
    if cfg.teacher not in TEACHERS:
        raise CadreError(f"unknown teacher {cfg.teacher!r}; use one of {', '.join(TEACHERS)}")
    if cfg.teacher == "tfidf" and not cfg.is_router:
        raise CadreError("--teacher tfidf distils class probabilities, so it needs --type router")
    if cfg.unlabeled:
        raise CadreError("--unlabeled transfer texts need a router teacher (router:<folder>)")
    _check_fractions(cfg)


def _check_fractions(cfg: TrainConfig) -> None:
    if not 0.0 <= cfg.word_dropout < 1.0:
        raise CadreError(f"--word-dropout must be in [0, 1), got {cfg.word_dropout}")
    if not 0.0 <= (cfg.subword_dropout or 0.0) < 1.0:
        raise CadreError(f"--subword-dropout must be in [0, 1), got {cfg.subword_dropout}")
    if not 0.0 <= cfg.distill_alpha <= 1.0:
        raise CadreError(f"--distill-alpha must be in [0, 1], got {cfg.distill_alpha}")


def _attach_teacher(train: list[Encoded], examples, n_classes: int, cfg: TrainConfig) -> None:
    """Give each training example the teacher's held-out class probabilities."""
    from cadre.training.regularize import teacher_probabilities

    probs = teacher_probabilities([e.question for e in examples], [e.target for e in train], n_classes,
                                  cfg.seed, cfg.quiet)
    if probs is not None:
        for encoded, row in zip(train, probs):
            encoded.soft = row.tolist()


def _model(cfg, preset, encoder, labels):
    from cadre.modeling import build_model, load_checkpoint

    ids = dict(pad_id=encoder.pad, bos_id=encoder.bos, eos_id=encoder.eos)
    vocab = encoder.tok.get_vocab_size()
    model = build_model(preset, vocab, len(labels) if labels else None, **ids)
    if cfg.init_from:
        source, meta = load_checkpoint(cfg.init_from)
        if meta.get("preset") != preset.name:
            raise CadreError(f"--init-from {cfg.init_from} is a {meta.get('preset')!r} model, not {preset.name!r}")
        state = {k: v for k, v in source.state_dict().items() if not k.startswith("score.")}
        try:
            model.load_state_dict(state, strict=False)  # a classifier keeps a fresh head for its labels
        except RuntimeError as exc:
            raise CadreError(f"--init-from {cfg.init_from}: weights do not fit this model "
                             f"({str(exc).splitlines()[-1].strip()[:200]})") from None
    return model


def _restore(run: Run, folder: Path) -> None:
    from cadre.modeling import load_checkpoint

    model, _ = load_checkpoint(folder, run.device)
    run.model.load_state_dict(model.state_dict())
    load_optimizer(run.optimizer, folder)
    saved = _read_state(folder / STATE_FILE)
    run.state = TrainState(saved["epoch"], saved["global_step"], saved["history"])


def save_run(run: Run, cfg: TrainConfig) -> None:
    """Write the checkpoint, optimizer and trainer state for this epoch, atomically."""
    from cadre.fsutil import atomic_dir
    from cadre.modeling import CAUSAL, CLASSIFIER, save_checkpoint

    last = run.state.history[-1] if run.state.history else {}
    unlabeled = sum(1 for e in run.train if run.labels and e.target == IGNORE)
    meta = {"type": cfg.type, "task_kind": CLASSIFIER if run.labels else CAUSAL, "preset": run.preset,
            "labels": run.labels, "data_hash": run.data_hash, "metrics": last,
            "train_examples": len(run.train) - unlabeled, "val_examples": len(run.val)}
    if run.labels:
        meta["unlabeled_examples"] = unlabeled
        meta["recipe"] = {"name": cfg.recipe, **{k: getattr(cfg, k) for k in RECIPE_KEYS}}
    with atomic_dir(cfg.output) as tmp:
        save_checkpoint(tmp, run.model, run.tokenizer_json, meta)
        save_optimizer(run.optimizer, tmp)
        state = {"config": asdict(cfg), **asdict(run.state)}
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=2))


def evaluate_encoded(run: Run, examples: list[Encoded], batch_size: int) -> dict:
    """Mean loss over examples; accuracy and macro-F1 too when the model is a classifier."""
    import torch
    from sklearn.metrics import f1_score

    run.model.eval()
    total, count, preds, gold = 0.0, 0, [], []
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = examples[start: start + batch_size]
            ids, mask, labels = (t.to(run.device) for t in collate(batch, run.encoder.pad))
            out = run.model(input_ids=ids, attention_mask=mask, labels=labels)
            total += out.loss.item() * len(batch)
            count += len(batch)
            if run.labels:
                preds += out.logits.argmax(-1).tolist()
                gold += labels.tolist()
    run.model.train()
    result = {"loss": total / count}
    if run.labels:
        result["accuracy"] = sum(p == g for p, g in zip(preds, gold)) / len(gold)
        result["macro_f1"] = float(f1_score(gold, preds, average="macro"))
    return result
