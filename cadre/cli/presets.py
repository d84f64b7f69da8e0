"""`cadre presets`: the size table with measured parameter counts."""
from __future__ import annotations

import typer

from cadre.cli.verbs import verb


@verb("presets")
def presets(measure: bool = typer.Option(True, help="Build each model on the meta device to count parameters exactly.")) -> None:
    """Print each preset: layers, width, heads, context, parameters and fp32/bf16 memory."""
    from cadre import presets as table

    header = f"{'name':<8} {'layers':>6} {'width':>6} {'heads':>5} {'ctx':>5} {'params':>10} {'fp32':>9} {'bf16':>9}"
    typer.echo(header)
    for preset in table.PRESETS.values():
        n = _measured(preset) if measure else preset.estimate_params()
        typer.echo(f"{preset.name:<8} {preset.n_layer:>6} {preset.d_model:>6} {preset.n_head:>5} "
                   f"{preset.context:>5} {_human(n):>10} {_human(4 * n, 'B'):>9} {_human(2 * n, 'B'):>9}")


def _measured(preset) -> int:
    from cadre.modeling import count_parameters

    return count_parameters(preset)


def _human(n: float, unit: str = "") -> str:
    for suffix in ("", "K", "M", "G", "T"):
        if abs(n) < 1000:
            return f"{n:.1f}{suffix}{unit}" if suffix else f"{n:.0f}{unit}"
        n /= 1000
    return f"{n:.1f}P{unit}"
