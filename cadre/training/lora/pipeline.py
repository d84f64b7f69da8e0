"""The LoRA specialist pipeline, in a fixed shape:
setup → baseline → train → evaluate → gate → export → cleanup.

The base model is measured zero-shot with the specialist's prompt template, a LoRA adapter
is trained with PEFT (a plain loop: AdamW, warmup + cosine schedule, gradient
accumulation; bf16 autocast and gradient checkpointing on CUDA only), the adapter is
measured on the same test split, and the report (JSON + Markdown) is written before the
gates decide the exit code. Only an adapter that passes its gates is exported: PEFT's
adapter_model.safetensors + tokenizer + cadre.json, optionally merged into a full model.
Under torchrun every rank trains its share of each batch and rank 0 alone does the rest
(distributed.py); without it nothing changes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from cadre.errors import CadreError, GateFailed
from cadre.training.lora.catalog import SpecialistSpec, resolve_data_path
from cadre.training.lora.distributed import World, main_only, session
from cadre.training.lora.report import read_report, render_markdown, write_report  # noqa: F401
from cadre.training.lora.train import _collate, _response_loss, peak_memory_mb, train  # noqa: F401

DEFAULT_RUNS = Path("runs") / "specialists"


@dataclass
class RunOptions:
    """Command-line choices for one run of a specialist."""

    baseline_only: bool = False
    local_test: bool = False
    base: str | None = None      # overrides the spec's base model
    data: str | None = None      # overrides the spec's dataset path
    output: str | None = None    # default: runs/specialists/<name>
    merge: bool = False          # also write a merged full model
    batch_size: int | None = None
    max_steps: int | None = None
    progress: bool = True
    on_validation: bool = False  # score the validation split in the test split's place


@dataclass
class Context:
    """What setup() builds and the later stages share."""

    spec: SpecialistSpec
    out: Path
    base_path: str
    tokenizer: object
    model: object
    device: str
    data: dict
    timings: dict = field(default_factory=dict)
    world: World = field(default_factory=World)  # rank 0 of 1 unless under torchrun


def output_dir(name: str, output: str | None = None) -> Path:
    """Where a specialist's run writes: --output, else runs/specialists/<name>."""
    return Path(output) if output else DEFAULT_RUNS / name


def effective_spec(spec: SpecialistSpec, opts: RunOptions) -> SpecialistSpec:
    """The spec after --local-test, --base, --batch-size and --max-steps."""
    if opts.local_test:
        spec = spec.for_local_test()
    training = spec.training.model_dump()
    if opts.batch_size:
        training["batch_size"] = opts.batch_size
    if opts.max_steps:
        training["max_steps"] = opts.max_steps
    return spec.with_overrides(base=opts.base or spec.base, training=training)


def run(spec: SpecialistSpec, opts: RunOptions) -> dict | None:
    """Run the whole pipeline; returns the report (None on the ranks after 0 under
    torchrun). A missed gate raises GateFailed (exit 3) after the report is written."""
    spec = effective_spec(spec, opts)
    with session() as world:
        ctx = setup(spec, opts, world)
        try:
            report = _stages(ctx, opts)
        finally:
            cleanup(ctx)
    if report is not None and not report["gates"]["passed"]:
        raise GateFailed(f"{spec.name}: gate missed ({report['gates']['summary']}); "
                         f"report in {ctx.out / 'report.md'}")
    return report


def _stages(ctx: Context, opts: RunOptions) -> dict | None:
    """baseline → train → evaluate → gate → export → report; everything but training on
    rank 0 only, the other ranks waiting for it."""
    spec, world = ctx.spec, ctx.world
    report = _new_report(ctx, opts) if world.is_main else None
    base = main_only(world, lambda: _timed(ctx, "baseline", lambda: baseline(ctx, opts)))
    model = training = None
    if not opts.baseline_only:
        model = attach_lora(ctx.model, spec.lora, spec.base, seed=spec.training.seed)
        training = _timed(ctx, "train", lambda: train(model, ctx, opts.progress))
    return main_only(world, lambda: _finish(ctx, opts, report, base, model, training))


def _finish(ctx: Context, opts: RunOptions, report: dict, base: dict, model, training) -> dict:
    """Evaluate the adapter, apply the gates, export, write the report (rank 0)."""
    report["baseline"] = base
    if model is not None:
        report["training"] = training
        report["finetuned"] = _timed(ctx, "finetuned", lambda: _evaluate_merged(ctx, model, opts))
    if model is not None:
        report["evidence"] = paired_evidence(ctx.out / "predictions", ctx.spec.gates.metric, ctx.data["labels"])
    report["gates"] = check_gates(ctx.spec, report, opts.baseline_only)
    if model is not None and report["gates"]["passed"] and not opts.on_validation:  # a recipe check never serves
        report["exported"] = _timed(ctx, "export", lambda: export(model, ctx, report, opts.merge))
    elif model is not None:  # kept for inspection and measurement, never exported or served
        from cadre.fsutil import atomic_dir

        with atomic_dir(ctx.out / "rejected-adapter") as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
    report["timings"] = ctx.timings
    write_report(report, ctx.out)
    return report


# ----------------------------------------------------------------------------- setup
def setup(spec: SpecialistSpec, opts: RunOptions, world: World | None = None) -> Context:
    """Prepare the data, load the base model and check the LoRA targets; only then is
    anything written (the prepared data, by rank 0), so bad input leaves no files behind."""
    from cadre.data.specialist_data import prepare, save_prepared
    from cadre.outputs import mark_output

    world = world or World()
    out = output_dir(spec.name, opts.output)
    lt = spec.local_test
    sizes = ({"train": lt.train_size, "validation": lt.validation_size, "test": lt.test_size}
             if opts.local_test else None)
    path = resolve_data_path(opts.data or spec.dataset.path)
    data = prepare(spec.dataset, spec.prompt, classification=spec.is_classification,
                   reference=spec.reference, path=path, sizes=sizes)
    if opts.on_validation:  # recipe picking: the test split is never looked at
        data["splits"]["test"] = data["splits"]["validation"]
    base_path, tokenizer, model, device = load_base(spec.base, spec.training)
    if not opts.baseline_only:
        check_targets(model, spec.lora.target_modules, spec.base)
    if world.is_main:
        mark_output(out, "specialist-run")  # before the first file: a rerun after any stop resumes here
        save_prepared(data, out / "data")
    return Context(spec, out, base_path, tokenizer, model, device, data, world=world)


def load_base(name: str, training=None):
    """Resolve and load a base model + tokenizer; a missing model is a one-line error.

    Returns (resolved path or hub name, tokenizer, model, device).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cadre.pretrained import resolve_base

    path = resolve_base(name)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    bf16 = device == "cuda" and (training is None or training.bf16) and torch.cuda.is_bf16_supported()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16 if bf16 else torch.float32)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CadreError(f"base model {name!r} not found: not a local model folder and not "
                         f"loadable from the Hugging Face hub ({first})") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return path, tokenizer, model.to(device), device


def linear_module_names(model) -> list[str]:
    """Short names of the model's linear layers (what LoRA's target_modules may name)."""
    from torch import nn
    from transformers.pytorch_utils import Conv1D

    return sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                   if isinstance(m, (nn.Linear, Conv1D)) and n})


def check_targets(model, targets: list[str], base_name: str) -> None:
    """A LoRA target the model lacks is an error listing the model's linear modules."""
    names = linear_module_names(model)
    missing = [t for t in targets if t not in names]
    if missing:
        raise CadreError(f"LoRA target module(s) {', '.join(missing)} not in {base_name}; "
                         f"its linear modules: {', '.join(names)}")


def attach_lora(model, lora, base_name: str, seed: int | None = None):
    """Wrap the base in a PEFT LoRA model, checking the target modules exist. With `seed`
    the adapter's random init (lora_A) is the seed's, so a run is repeatable."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model

    check_targets(model, lora.target_modules, base_name)
    if seed is not None:
        torch.manual_seed(seed)
    layers = getattr(model.config, "num_hidden_layers", None)
    top = getattr(lora, "top_layers", None)
    only = list(range(max(0, layers - top), layers)) if top and layers else None
    config = LoraConfig(task_type=TaskType.CAUSAL_LM, r=lora.rank, lora_alpha=lora.alpha,
                        lora_dropout=lora.dropout, target_modules=list(lora.target_modules),
                        layers_to_transform=only)
    return get_peft_model(model, config)


# ----------------------------------------------------------------------------- evaluate
def _evaluate(ctx: Context, model, stage: str, opts: RunOptions) -> dict:
    """Score `model` on the test split; predictions go to predictions/<stage>.jsonl."""
    import json

    import torch
    from tqdm.auto import tqdm

    from cadre.fsutil import atomic_write_text
    from cadre.training.lora.evaluate import evaluate

    test = ctx.data["splits"]["test"]
    with tqdm(total=len(test), desc=f"{stage} {ctx.spec.name}", disable=not opts.progress, unit="ex") as bar:
        try:
            result = evaluate(model, ctx.tokenizer, ctx.spec, test, ctx.data["labels"], progress=bar.update)
        except torch.cuda.OutOfMemoryError:
            size = ctx.spec.training.eval_batch_size
            raise CadreError(f"CUDA out of memory while evaluating at batch size {size}; "
                             f"set training.eval_batch_size to {max(1, size // 2)}") from None
    preds = result.pop("predictions")
    atomic_write_text(ctx.out / "predictions" / f"{stage}.jsonl",
                      "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in preds))
    return result


def _evaluate_merged(ctx: Context, model, opts: RunOptions) -> dict:
    """The fine-tuned model scored with its adapter merged into the weights (as fast as the
    base), then unmerged so that export saves the adapter alone."""
    model.eval()
    model.merge_adapter()
    try:
        return _evaluate(ctx, model, "finetuned", opts)
    finally:
        model.unmerge_adapter()


def baseline(ctx: Context, opts: RunOptions) -> dict:
    """The zero-shot base model on the test split, reused from the run folder when the
    base, prompt, scoring and test split are unchanged (the key is their sha256)."""
    import hashlib
    import json

    from cadre.fsutil import atomic_write_json

    spec = ctx.spec
    key = hashlib.sha256(json.dumps([ctx.base_path, spec.prompt.model_dump(), spec.scoring, spec.judge,
                                     spec.metrics, spec.training.max_new_tokens, ctx.data["labels"],
                                     ctx.data["splits"]["test"]], sort_keys=True, default=str).encode()).hexdigest()
    cache = ctx.out / "baseline.json"
    if cache.is_file() and (ctx.out / "predictions" / "baseline.jsonl").is_file():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved.get("key") == key:
            return {**saved["result"], "cached": True}
    result = _evaluate(ctx, ctx.model, "baseline", opts)
    atomic_write_json(cache, {"key": key, "result": result})
    return result


def _timed(ctx: Context, name: str, fn):
    start = time.perf_counter()
    out = fn()
    ctx.timings[name] = round(time.perf_counter() - start, 2)
    return out


# ----------------------------------------------------------------------------- gate
def check_gates(spec: SpecialistSpec, report: dict, baseline_only: bool) -> dict:
    """Apply the gates: a baseline-only run checks baseline_target; a full run checks
    finetuned_target and that fine-tuning beat the baseline by more than min_improvement."""
    g, metric = spec.gates, spec.gates.metric
    base = report["baseline"]["metrics"][metric]
    checks = []
    if g.baseline_target is not None:  # enforced only when the baseline is all there is
        checks.append({"check": f"baseline {metric} >= {g.baseline_target}", "value": base,
                       "passed": base >= g.baseline_target, "enforced": baseline_only})
    if not baseline_only:
        tuned = report["finetuned"]["metrics"][metric]
        if g.finetuned_target is not None:
            checks.append({"check": f"fine-tuned {metric} >= {g.finetuned_target}", "value": tuned,
                           "passed": tuned >= g.finetuned_target, "enforced": True})
        checks.append(_evidence_check(report.get("evidence"), tuned - base, g.min_improvement))
    failed = [c for c in checks if c["enforced"] and not c["passed"]]
    summary = "; ".join(f"{c['check']}: {c['value']:.4f}" for c in failed) or "all gates passed"
    return {"metric": metric, "checks": checks, "passed": not failed, "summary": summary}


def paired_evidence(folder: Path, metric: str = "accuracy", labels: list[str] | None = None) -> dict | None:
    """Fine-tuned against baseline on the same test examples (predictions/*.jsonl): the
    paired bootstrap's 95% lower bound of the difference in the gate's metric and the
    sign test. Macro F1 is not a mean over examples, so it is bootstrapped whole."""
    import json

    from cadre.evaluation.evidence import compare, compare_metric

    def rows(stage):
        path = folder / f"{stage}.jsonl"
        if not path.is_file():
            return None
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    tuned, base = rows("finetuned"), rows("baseline")
    if tuned is None or base is None or len(tuned) != len(base) or not tuned:
        return None
    if metric == "macro_f1":
        from cadre.evaluation.metrics import macro_f1

        truth = [r.get("label", r["reference"]) for r in tuned]
        return {**compare_metric(truth, [r["prediction"] for r in tuned], [r["prediction"] for r in base],
                                 lambda t, p: macro_f1(t, p, labels)), "metric": metric}
    return {**compare([float(r["score"]) for r in tuned], [float(r["score"]) for r in base]), "metric": metric}


def _evidence_check(evidence: dict | None, change: float, min_improvement: float) -> dict:
    """Fine-tuning must beat the baseline with confidence: the 95% lower bound of the
    per-example difference above `min_improvement` (and, for a real gate, min_improvement
    >= 0, the sign test too), not just a higher mean."""
    if evidence is None:
        return {"check": f"fine-tuned - baseline > {min_improvement} (no paired scores)", "value": change,
                "passed": False, "enforced": True}
    lower = evidence["lower"]
    sign_ok = min_improvement < 0 or evidence["sign_p"] < 1 - evidence["confidence"]
    return {"check": (f"fine-tuned - baseline >= {lower:+.4f} (95% lower bound; {evidence['wins']} wins, "
                      f"{evidence['losses']} losses, sign p={evidence['sign_p']:.3g}) > {min_improvement}"),
            "value": lower, "passed": lower > min_improvement and sign_ok, "enforced": True}


# ----------------------------------------------------------------------------- export
def export(model, ctx: Context, report: dict, merge: bool) -> dict:
    """Write the adapter folder (adapter_model.safetensors, adapter_config.json, tokenizer,
    cadre.json) and, with `merge`, a merged full-model folder; both atomically."""
    from cadre.checkpoint import write_metadata
    from cadre.fsutil import atomic_dir

    spec = ctx.spec
    meta = {"type": "lora", "base": spec.base, "base_path": ctx.base_path, "task": spec.task,
            "specialist": spec.name, "labels": ctx.data["labels"], "prompt_template": spec.prompt.template,
            "system_prompt": spec.prompt.system, "response_template": spec.prompt.response,
            "scoring": spec.scoring, "judge": spec.judge, "lora": spec.lora.model_dump(),
            "data_manifest": ctx.data["manifest"].get("source_files", {}),
            "metrics": {"baseline": report["baseline"]["metrics"], "finetuned": report["finetuned"]["metrics"]},
            "evidence": report.get("evidence")}
    adapter = ctx.out / "adapter"
    with atomic_dir(adapter) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        ctx.tokenizer.save_pretrained(tmp)
        write_metadata(tmp, meta)
    out = {"adapter": str(adapter)}
    if merge:
        merged_dir = ctx.out / "merged"
        merged = model.merge_and_unload()
        with atomic_dir(merged_dir) as tmp:
            merged.save_pretrained(tmp)
            ctx.tokenizer.save_pretrained(tmp)
            write_metadata(tmp, {**meta, "type": "lora-merged"})
        out["merged"] = str(merged_dir)
    return out


# ----------------------------------------------------------------------------- report
def _new_report(ctx: Context, opts: RunOptions) -> dict:
    spec = ctx.spec
    return {"specialist": spec.name, "task": spec.task, "base": spec.base, "base_path": ctx.base_path,
            "device": ctx.device, "world_size": ctx.world.size, "local_test": opts.local_test, "baseline_only": opts.baseline_only,
            "scored_split": "validation" if opts.on_validation else "test",
            "labels": ctx.data["labels"], "data": ctx.data["manifest"], "scoring": spec.scoring,
            "lora": spec.lora.model_dump(), "training_config": spec.training.model_dump()}


# ----------------------------------------------------------------------------- cleanup
def cleanup(ctx: Context) -> None:
    """Free the model (and CUDA cache) so a caller can run the next specialist."""
    import gc

    ctx.model = None
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
