"""The fleet's run folder: cadre.json (its kind), fleet.json (one row per specialist, saved
atomically after each one finishes) and fleet.md (the table). A rerun keeps every row whose
recipe key is unchanged and whose report is still on disk, so an interrupted fleet resumes."""
from __future__ import annotations

import json
from pathlib import Path

from cadre.fsutil import atomic_write_json, atomic_write_text

KIND = "fleet-run"
KEPT = ("passed", "gate missed")  # finished rows a rerun keeps; errors and failures run again


class FleetState:
    """The rows of one fleet folder."""

    def __init__(self, folder: str | Path, order: list[str] | None = None):
        self.folder = Path(folder)
        self.order = list(order or [])  # the fleet's own order, for the table
        self.rows: dict[str, dict] = {}
        path = self.folder / "fleet.json"
        if path.is_file():
            try:
                self.rows = json.loads(path.read_text(encoding="utf-8")).get("rows", {})
            except (OSError, ValueError, AttributeError):
                self.rows = {}  # a fleet.json we cannot read: every specialist runs again

    def finished(self, task) -> bool:
        """True when an earlier run of this exact recipe finished and its report is there."""
        row = self.rows.get(task.name)
        return bool(row and row.get("key") == task.key and row.get("status") in KEPT
                    and (Path(task.output) / "report.json").is_file())

    def record(self, row: dict) -> None:
        """Keep one specialist's row and save the folder's files."""
        self.rows[row["name"]] = row
        self.save()

    def save(self) -> None:
        """cadre.json, fleet.json and fleet.md, each atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.folder / "cadre.json", {"type": KIND})
        atomic_write_json(self.folder / "fleet.json", {"type": KIND, "rows": self.rows})
        atomic_write_text(self.folder / "fleet.md", render(self.ordered()) + "\n")

    def ordered(self) -> list[dict]:
        """The rows in the fleet's order, then any others."""
        names = [n for n in self.order if n in self.rows] + sorted(set(self.rows) - set(self.order))
        return [self.rows[n] for n in names]


def _num(value) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _gate(row: dict) -> str:
    if row.get("status") in ("error", "failed", "interrupted"):
        return f"{row['status']}: {row.get('error', '')}".rstrip(": ")
    return "passed" if row.get("gate_passed") else f"missed ({row.get('gate_summary', '')})"


def _place(row: dict) -> str:
    node = (row.get("node") or "")[:8]
    return f"{row.get('host', '?')} pid {row.get('pid', '?')}" + (f" node {node}" if node else "") + \
        f", attempt {row.get('attempt', 1)}" + (" (kept from an earlier run)" if row.get("resumed") else "")


def render(rows: list[dict]) -> str:
    """The fleet report as a Markdown table."""
    head = "| specialist | metric | baseline | fine-tuned | gate | wall s | where it ran |\n|---|---|---|---|---|---|---|"
    body = [f"| {r['name']} | {r.get('metric') or '-'} | {_num(r.get('baseline'))} | {_num(r.get('finetuned'))} "
            f"| {_gate(r)} | {r.get('wall_s', '-')} | {_place(r)} |" for r in rows]
    return "\n".join([head, *body])


def exit_code(rows: list[dict]) -> int:
    """0 when every gate passed; 3 when a gate was missed; 1 when a specialist could not finish."""
    if any(r.get("status") not in KEPT for r in rows):
        return 1
    return 3 if any(r.get("status") == "gate missed" for r in rows) else 0
