"""Score gates: a specialist serves its route only when it has earned it.

`cadre scoreboard` records, in each specialist checkpoint's cadre.json under `scoreboard`,
the specialist's score on its route's held-out job and the primary's score on the same
job, with the paired evidence over the same examples (cadre.evaluation.evidence: a
bootstrap lower bound of the difference and a sign test). Serving reads that record
(cached by file modification time, never re-run): the specialist is used only when it wins
with confidence (95% lower bound of specialist − primary above 0), or when its cadre.yaml
entry says `force: true`. A checkpoint with no record, or a record without paired
evidence, is unproven and the primary serves.

Only cadre checkpoints (folders with cadre.json) are gated; a remote model or a plain
Hugging Face folder is served as configured, since nothing here can score it for free.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from cadre.checkpoint import METADATA_FILE, find_metadata
from cadre.errors import CadreError

SCORE_KEY = "scoreboard"      # the cadre.json key that `cadre scoreboard` writes
_cache: dict[str, tuple[float, dict | None]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Verdict:
    """Whether a specialist serves, and the one-line reason with both scores."""

    allowed: bool
    reason: str
    gated: bool = True        # False for models the gate does not apply to


def recorded_score(path: str | None) -> dict | None:
    """The scoreboard record of a checkpoint folder, or None (no folder, no record, bad JSON)."""
    if not path:
        return None
    meta_file = Path(path) / METADATA_FILE
    try:
        mtime = meta_file.stat().st_mtime
    except OSError:
        return None
    with _lock:
        hit = _cache.get(str(meta_file))
        if hit and hit[0] == mtime:
            return hit[1]
    try:
        record = (find_metadata(path) or {}).get(SCORE_KEY)
    except CadreError:  # a corrupt cadre.json records no score: the primary serves
        record = None
    record = record if isinstance(record, dict) and _valid(record) else None
    with _lock:
        _cache[str(meta_file)] = (mtime, record)
    return record


def _valid(record: dict) -> bool:
    return all(isinstance(record.get(k), (int, float)) for k in ("score", "primary_score"))


def is_checkpoint(spec) -> bool:
    """A cadre checkpoint folder: the gate applies to it."""
    from cadre.runtime.backends.identity import serves_files

    return serves_files(spec) and bool(spec.path) and (Path(spec.path) / METADATA_FILE).is_file()


def verdict(spec, primary: str) -> Verdict:
    """May `spec` serve its route instead of the primary? Only with evidence: the recorded
    paired comparison's 95% lower bound of specialist − primary above 0 (and its sign
    test), which the reason shows. A higher mean alone, or a record without paired
    evidence, leaves the route to the primary unless the entry is forced."""
    if spec.name == primary or not is_checkpoint(spec):
        return Verdict(True, "", gated=False)
    record = recorded_score(spec.path)
    forced = bool(getattr(spec, "force", False))
    if record is None:
        why = f"{spec.name}: specialist unscored (run cadre scoreboard)"
        return Verdict(forced, f"{why}, forced" if forced else f"{why} → primary")
    s, p = float(record["score"]), float(record["primary_score"])
    route, metric = str(record.get("route", spec.name)).removeprefix("lora:"), record.get("metric", "score")
    evidence = record.get("evidence")
    scores = f"{s:.2f} vs {p:.2f} {metric}"
    if not isinstance(evidence, dict) or not isinstance(evidence.get("lower"), (int, float)):
        compared = f"{route}: specialist {scores}, no paired evidence (rerun cadre scoreboard)"
    else:
        compared = f"{route}: specialist − primary ≥ {evidence['lower']:+.2f} ({_pct(evidence)}; {scores}, n={evidence.get('n')})"
        if evidence.get("confident_win") and evidence["lower"] > 0:
            return Verdict(True, f"{compared} → {spec.name} serves")
    return Verdict(forced, f"{compared}, forced → {spec.name}" if forced else f"{compared} → primary")


def _pct(evidence: dict) -> str:
    return f"{round(100 * float(evidence.get('confidence', 0.95)))}%"


def score_label(spec, primary: str) -> str:
    """What `cadre models list` shows: the recorded score, "unscored", or "-" (not gated)."""
    if spec.name == primary:
        return "primary"
    if not is_checkpoint(spec):
        return "-"
    record = recorded_score(spec.path)
    if record is None:
        return "unscored" + (" (forced)" if getattr(spec, "force", False) else "")
    evidence = record.get("evidence") if isinstance(record.get("evidence"), dict) else {}
    bound = f" (Δ≥{evidence['lower']:+.2f})" if isinstance(evidence.get("lower"), (int, float)) else " (no evidence)"
    return (f"{record['score']:.2f} vs {record['primary_score']:.2f} {record.get('metric', '')}".rstrip() + bound
            + (" (forced)" if getattr(spec, "force", False) else ""))
