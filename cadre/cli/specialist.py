"""`cadre specialist run|list|report`: LoRA specialists from configs/specialists/*.yaml."""
from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `specialist` command group to the CLI."""
    group = typer.Typer(help="LoRA specialists on a pretrained base: baseline, fine-tune, gate, export.",
                        no_args_is_help=True)
    group.command("run")(run_cmd)
    group.command("list")(list_cmd)
    group.command("report")(report_cmd)
    app.add_typer(group, name="specialist")


def run_cmd(
    name: str = typer.Argument(..., help="Catalog name (cadre specialist list) or a YAML path."),
    baseline_only: bool = typer.Option(False, "--baseline-only", help="Measure the base model only."),
    local_test: bool = typer.Option(False, "--local-test", help="The quick CPU recipe (local_test block)."),
    base: str | None = typer.Option(None, "--base", help="Base model: HF name or path (default: the spec's)."),
    data: str | None = typer.Option(None, "--data", help="Dataset path overriding the spec's."),
    output: Path | None = typer.Option(None, "--output", help="Run folder (default runs/specialists/NAME)."),
    merge: bool = typer.Option(False, "--merge", help="Also write a merged full model."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Per-device batch size."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="Cap the optimizer steps."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing --output that is not this specialist's run folder."),
    unsafe_judge: bool = typer.Option(False, "--unsafe-judge",
                                      help="Let the code judge run model code without a sandbox (no bubblewrap)."),
) -> None:
    """Baseline → LoRA fine-tune → evaluate → gate → export. Exit 3 when a gate is missed."""
    from cadre.training.lora.pipeline import RunOptions, run
    from cadre.training.lora.catalog import load_specialist

    from cadre.fsutil import claim_output
    from cadre.training.lora.pipeline import output_dir

    spec = load_specialist(name)
    # a run folder of this kind is reused (its baseline is cached there); anything else is kept
    claim_output(output_dir(spec.name, str(output) if output else None), ("specialist-run",),
                 overwrite=overwrite, resume=True)
    if spec.judge == "code":
        from cadre.evaluation import sandbox

        sandbox.check(unsafe_judge)  # at start-up: refuse before the base model loads
    opts = RunOptions(baseline_only=baseline_only, local_test=local_test, base=base, data=data,
                      output=str(output) if output else None, merge=merge, batch_size=batch_size,
                      max_steps=max_steps, progress=not quiet)
    report = run(spec, opts)
    from cadre.training.lora.pipeline import render_markdown

    typer.echo(render_markdown(report))


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


def report_cmd(
    name: str = typer.Argument(..., help="Specialist name."),
    output: Path | None = typer.Option(None, "--output", help="Run folder (default runs/specialists/NAME)."),
) -> None:
    """Print the report of the last run of a specialist."""
    from cadre.training.lora.pipeline import output_dir, read_report

    typer.echo(read_report(output_dir(name, str(output) if output else None)), nl=False)
