"""`cadre specialist run|list|report`: LoRA specialists from configs/specialists/*.yaml."""
from __future__ import annotations

from pathlib import Path

import typer

from cadre.cli.verbs import verb
from cadre.errors import CadreError


@verb("run", group="specialist")
def run_cmd(
    name: str = typer.Argument(..., help="Catalog name (cadre specialist list) or a YAML path."),
    baseline_only: bool = typer.Option(False, "--baseline-only", help="Measure the base model only."),
    local_test: bool = typer.Option(False, "--local-test", help="The quick CPU recipe (local_test block)."),
    base: str | None = typer.Option(None, "--base", help="Base model: HF name or path (default: the spec's)."),
    data: str | None = typer.Option(None, "--data", help="Dataset path overriding the spec's."),
    output: Path | None = typer.Option(None, "--output", help="Run folder (default runs/specialists/NAME)."),
    merge: bool = typer.Option(False, "--merge", help="Also write a merged full model."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1,
                                          help="Examples per micro-batch (split across the processes under torchrun)."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="Cap the optimizer steps."),
    nproc: int | None = typer.Option(None, "--nproc", min=1,
                                     help="Data-parallel processes (default: the spec's resources.gpus when > 1; "
                                          "on a CPU machine N gloo processes)."),
    on_validation: bool = typer.Option(False, "--on-validation",
                                       help="Score the validation split instead of the test split (to pick a "
                                            "recipe without looking at the test split)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing --output that is not this specialist's run folder."),
    unsafe_judge: bool = typer.Option(False, "--unsafe-judge",
                                      help="Let the code judge run model code without a sandbox (no bubblewrap)."),
) -> None:
    """Baseline → LoRA fine-tune → evaluate → gate → export. Exit 3 when a gate is missed.

    A spec asking for more than one GPU (resources.gpus), or --nproc N, trains
    data-parallel under torchrun with the same global batch (docs/fleet-multigpu.md)."""
    from cadre.outputs import claim_output
    from cadre.training.lora import distributed
    from cadre.training.lora.catalog import load_specialist
    from cadre.training.lora.pipeline import (
        RunOptions,
        effective_spec,
        output_dir,
        render_markdown,
        run,
    )

    spec = load_specialist(name)
    opts = RunOptions(baseline_only=baseline_only, local_test=local_test, base=base, data=data,
                      output=str(output) if output else None, merge=merge, batch_size=batch_size,
                      max_steps=max_steps, progress=not quiet,
                      on_validation=on_validation)
    under_torchrun = distributed.is_distributed()
    n = 1 if under_torchrun else distributed.process_count(effective_spec(spec, opts).resources.gpus, nproc,
                                                            distributed.cuda_devices())
    if distributed.rank() == 0:  # one claimant: the other ranks never write
        # a run folder of this kind is reused (its baseline is cached); anything else is kept
        claim_output(output_dir(spec.name, opts.output), ("specialist-run",), overwrite=overwrite, resume=True)
    if spec.judge == "code":
        from cadre.evaluation import sandbox

        sandbox.check(unsafe_judge)  # at start-up: refuse before the base model loads
    if n > 1:
        args = _forwarded(baseline_only=baseline_only, local_test=local_test, base=base, data=data, output=output,
                          merge=merge, batch_size=batch_size, max_steps=max_steps, quiet=quiet,
                          on_validation=on_validation,
                          overwrite=overwrite, unsafe_judge=unsafe_judge)
        distributed.relaunch(name, n, args)
        return
    if local_test:
        typer.echo(local_test_notice(effective_spec(spec, opts)), err=True)
    try:
        report = run(spec, opts)
    except CadreError as exc:
        if distributed.report_error(exc):
            raise typer.Exit(0) from None  # the launcher prints it and exits with its code
        raise
    if report is not None:  # rank 0 (or the only process)
        typer.echo(render_markdown(report))


def local_test_notice(spec) -> str:
    """What --local-test runs: a bounded, seeded sample, not the full evaluation."""
    lt = spec.local_test
    test = f"{lt.test_size} test examples" if lt.test_size else "the whole test split"
    return (f"local test: a fixed sample (seed {spec.dataset.seed}) of {lt.train_size} training and {test}, "
            f"{spec.training.epochs:g} epoch(s); a few minutes on 2 CPU cores. The full evaluation is "
            f"`cadre specialist run {spec.name}` without --local-test.")


def _forwarded(**options) -> list[str]:
    """The `specialist run` options again, for the torchrun workers."""
    args = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value not in (None, False):
            args += [flag, str(value)]
    return args


@verb("list", group="specialist")
def list_cmd() -> None:
    """List the specialists of the catalog."""
    from cadre.training.lora.catalog import catalog, load_spec_file, resolve_data_path

    rows = []
    for name, path in catalog().items():
        spec = load_spec_file(path)
        data = resolve_data_path(spec.dataset.path)
        here = "hf" if data.startswith("hf:") else ("found" if Path(data).exists() else "missing: use --data")
        target = spec.gates.finetuned_target
        rows.append((name, spec.task, spec.base, f"{spec.dataset.path} ({here})",
                     f"{spec.gates.metric} >= {target}" if target is not None else "-"))
    widths = [max(len(str(r[i])) for r in rows + [("name", "task", "base", "data", "gate")]) for i in range(5)]
    for row in [("name", "task", "base", "data", "gate")] + rows:
        typer.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())


@verb("report", group="specialist")
def report_cmd(
    name: str = typer.Argument(..., help="Specialist name."),
    output: Path | None = typer.Option(None, "--output", help="Run folder (default runs/specialists/NAME)."),
) -> None:
    """Print the report of the last run of a specialist."""
    from cadre.training.lora.pipeline import output_dir, read_report

    typer.echo(read_report(output_dir(name, str(output) if output else None)), nl=False)
