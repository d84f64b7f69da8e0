"""The report of a specialist run: report.json (everything) and report.md (baseline vs
fine-tuned per metric, the gates, the training summary), both written atomically."""
from __future__ import annotations

from pathlib import Path

from cadre.errors import CadreError


def render_markdown(report: dict) -> str:
    """The human-readable report: baseline vs fine-tuned per metric, gates, training."""
    base, tuned = report["baseline"]["metrics"], report.get("finetuned", {}).get("metrics", {})
    lines = [f"# Specialist `{report['specialist']}` ({report['task']})", "",
             (f"- base: `{report['base']}` on {report['device']}"
             f"{_processes(report.get('world_size', 1))}{' (local test)' if report['local_test'] else ''}"),
             f"- test examples: {report['baseline']['n']}; train examples: {report['data']['rows']['train']}"
             + (" (local test: a fixed seeded sample, not the full evaluation)" if report["local_test"] else ""),
             *_evidence_line(report.get("evidence")), "",
             "| metric | baseline | fine-tuned | change |", "|---|---|---|---|"]
    for name, b in base.items():
        t = tuned.get(name)
        lines.append(f"| {name} | {b:.4f} | {'' if t is None else f'{t:.4f}'} | "
                     f"{'' if t is None else f'{t - b:+.4f}'} |")
    lines += ["", "## Gates", ""]
    lines += [f"- {'PASS' if c['passed'] else 'FAIL'}{'' if c['enforced'] else ' (info)'}: "
              f"{c['check']} (got {c['value']:.4f})" for c in report["gates"]["checks"]] or ["- (no gates set)"]
    if "training" in report:
        t = report["training"]
        lines += ["", "## Training", "",
                  (f"- {t['steps']} steps x {t['effective_batch']} examples ({t['epochs']} epochs), "
                  f"loss {t['loss_first']:.4f} → {t['loss_last']:.4f}"),
                  f"- {t['seconds']} s, {t['tokens_per_s']} tokens/s, peak memory {t['peak_memory_mb']} MB"]
    exported = report.get("exported")
    if exported:
        lines += ["", f"Adapter: `{exported['adapter']}`" + (f", merged: `{exported['merged']}`"
                                                            if "merged" in exported else "")]
    else:
        why = "baseline-only run" if report["baseline_only"] else "gate missed"
        lines += ["", f"Adapter: not exported ({why}); an earlier adapter in this folder, if any, is unchanged"]
    return "\n".join(lines) + "\n"


def _evidence_line(ev: dict | None) -> list[str]:
    if not ev:
        return []
    return [f"- fine-tuned − baseline ≥ {ev['lower']:+.4f} (95% paired bootstrap; {ev['wins']} wins, "
            f"{ev['losses']} losses, {ev['ties']} ties, sign test p={ev['sign_p']:.3g}): "
            + ("wins with confidence" if ev["confident_win"] else "no confident win")]


def _processes(n: int) -> str:
    return f" x {n} processes (data-parallel)" if n > 1 else ""


def write_report(report: dict, out: Path) -> None:
    """report.json and report.md in the run folder, atomically."""
    from cadre.fsutil import atomic_write_json, atomic_write_text

    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", render_markdown(report))


def read_report(out: Path) -> str:
    """The Markdown report of a finished run, or a clear error."""
    path = Path(out) / "report.md"
    if not path.is_file():
        raise CadreError(f"no report at {path}; run `cadre specialist run` first")
    return path.read_text(encoding="utf-8")
