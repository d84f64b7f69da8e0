"""Run every route's job, decide the winner, record the scores, print the table."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cadre.checkpoint import METADATA_FILE, parse_metadata, update_metadata
from cadre.errors import CadreError
from cadre.scoreboard import costs, jobs
from cadre.scoreboard.heldout import DEFAULT_DIR, heldout_path, load_heldout

ROUTES = ("intent", "code", "math", "vision", "lora")
HELDOUT_ROUTES = ROUTES[:4]      # "lora" rows read the metrics `cadre specialist run` recorded
METRICS = {"intent": "accuracy", "code": "pass@1", "math": "numeric", "vision": "rouge-l"}
CAPABILITY = {"code": "code_generation", "vision": "vision_captioning"}


@dataclass
class Row:
    """One route: the metric, both models' scores, latency p50 and memory, the winner."""

    route: str
    metric: str
    specialist: str | None
    specialist_score: float | None
    primary: str
    primary_score: float | None
    specialist_p50_ms: float | None
    primary_p50_ms: float | None
    specialist_memory_bytes: int | None
    primary_memory_bytes: int | None
    winner: str
    examples: int
    recorded: str | None = None     # the cadre.json the score went into
    note: str | None = None         # why a side has no score
    evidence: dict | None = None    # paired bootstrap + sign test (cadre.evaluation.evidence)
    specialist_cost_per_1k: float | None = None   # USD per 1,000 requests
    primary_cost_per_1k: float | None = None

    def to_json(self) -> dict:
        """The JSON row of `cadre scoreboard --json`."""
        return asdict(self)


def specialist_for(engine, route: str) -> str | None:
    """The registry model that would serve a route's capability, if it is not the primary."""
    spec = engine.registry.for_capability(CAPABILITY[route])
    return spec.name if spec is not None and spec.name != engine.primary else None


def run_scoreboard(engine, heldout_dir: str | Path = DEFAULT_DIR, limit: int | None = None,
                   routes=ROUTES, record: bool = True, progress=None) -> list[Row]:
    """Score each route (all held-out files are checked before anything runs)."""
    unknown = [r for r in routes if r not in ROUTES]
    if unknown:
        raise CadreError(f"unknown route(s) {unknown}; scoreboard routes: {', '.join(ROUTES)}")
    data = {route: load_heldout(heldout_dir, route, limit) for route in routes if route in HELDOUT_ROUTES}
    rows = []
    for route in [r for r in routes if r in HELDOUT_ROUTES]:
        if progress:
            progress(f"scoring {route} on {len(data[route])} held-out examples ...")
        rows.append(_score(engine, route, data[route], heldout_path(heldout_dir, route)))
        if record:
            rows[-1].recorded = record_score(engine, rows[-1], heldout_path(heldout_dir, route))
    for row, _ in (lora_rows(engine) if "lora" in routes else []):
        rows.append(row)
        if record:
            row.recorded = record_score(engine, row, Path("the test split of cadre specialist run"))
    return rows


def lora_rows(engine) -> list[tuple[Row, str]]:
    """LoRA specialists in the registry: fine-tuned vs base on the gate metric their
    `cadre specialist run` measured on its test split (read from cadre.json, not re-run)."""
    from cadre.runtime.gates import is_checkpoint

    out = []
    for spec in engine.registry:
        if spec.name == engine.primary or not is_checkpoint(spec):
            continue
        meta = parse_metadata(spec.path)
        metrics = meta.get("metrics") if meta.get("type") in ("lora", "lora-merged") else None
        if not isinstance(metrics, dict) or not metrics.get("finetuned") or not metrics.get("baseline"):
            continue
        evidence = meta.get("evidence") if isinstance(meta.get("evidence"), dict) else None
        gated = (evidence or {}).get("metric")  # the gate's metric (spam: macro F1), which the evidence is on
        name = (gated if gated in metrics["finetuned"] else
                "accuracy" if "accuracy" in metrics["finetuned"] else next(iter(metrics["finetuned"])))
        tuned, base = metrics["finetuned"].get(name), metrics["baseline"].get(name)
        if not isinstance(tuned, (int, float)) or not isinstance(base, (int, float)):
            continue
        row = Row(f"lora:{meta.get('specialist', spec.name)}", name, spec.name, _round(tuned),
                  f"base {meta.get('base', '?')}", _round(base), None, None, None, None,
                  _winner(evidence), (evidence or {}).get("n", 0), note=None, evidence=evidence)
        out.append((row, spec.path))
    return out


def _score(engine, route: str, examples: list[dict], path: Path) -> Row:
    if route == "intent":
        spec, prim = jobs.intent_job(engine, examples)
    elif route == "math":
        spec, prim = jobs.math_job(engine, examples)
    elif route == "code":
        spec, prim = jobs.code_job(engine, examples, specialist_for(engine, route))
    else:
        spec, prim = jobs.vision_job(engine, examples, specialist_for(engine, route))
    evidence = _paired(spec, prim)
    return Row(route, METRICS[route], spec.model, _round(spec.score), prim.model, _round(prim.score),
               _round(spec.p50_ms, 1), _round(prim.p50_ms, 1), spec.memory_bytes, prim.memory_bytes,
               _winner(evidence), len(examples), note=spec.error or prim.error, evidence=evidence,
               specialist_cost_per_1k=costs.per_1k(engine, spec), primary_cost_per_1k=costs.per_1k(engine, prim))


def _paired(spec, prim) -> dict | None:
    """Both sides' per-example scores compared (None when a side was not scored)."""
    from cadre.evaluation.evidence import compare

    if spec.score is None or prim.score is None or len(spec.per_example) != len(prim.per_example):
        return None
    return compare(spec.per_example, prim.per_example) if spec.per_example else None


def _winner(evidence: dict | None) -> str:
    """The specialist wins only with confidence (95% lower bound of the difference > 0)."""
    return "specialist" if evidence and evidence.get("confident_win") else "primary"


def _round(value, digits: int = 4):
    return None if value is None else round(value, digits)


def record_score(engine, row: Row, heldout: Path) -> str | None:
    """Write the row into the specialist checkpoint's cadre.json (atomically); None for tools."""
    from cadre.runtime.gates import SCORE_KEY, is_checkpoint

    if row.specialist not in engine.registry or row.specialist_score is None:
        return None
    spec = engine.registry.get(row.specialist)
    if not is_checkpoint(spec):
        return None
    record = {"route": row.route, "metric": row.metric, "score": row.specialist_score,
              "primary": row.primary, "primary_score": row.primary_score, "examples": row.examples,
              "heldout": str(heldout), "winner": row.winner, "evidence": row.evidence,
              "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    if not _same_record(parse_metadata(spec.path).get(SCORE_KEY), record):  # a shipped row re-read stays untouched
        update_metadata(spec.path, **{SCORE_KEY: record})
    return str(Path(spec.path) / METADATA_FILE)


def _same_record(old, new: dict) -> bool:
    """Whether a recorded row says what `new` says (its time aside)."""
    def said(row: dict) -> str:
        return json.dumps({k: v for k, v in row.items() if k != "measured_at"}, sort_keys=True)

    return isinstance(old, dict) and said(old) == said(json.loads(json.dumps(new)))


def format_table(rows: list[Row]) -> str:
    """The scoreboard as a fixed-width table."""
    from cadre.runtime.memory import human

    head = (f"{'ROUTE':<7} {'METRIC':<9} {'SPECIALIST':<16} {'SCORE':>6} {'PRIMARY':<10} {'SCORE':>6} "
            f"{'Δ≥(95%)':>8} {'P50 SPEC':>9} {'P50 PRIM':>9} {'MEM SPEC':>9} {'MEM PRIM':>9} "
            f"{'$/1k SPEC':>10} {'$/1k PRIM':>10} {'N':>3}  WINNER")
    lines = [head]
    for r in rows:
        lines.append(f"{r.route:<7} {r.metric:<9} {r.specialist or '(none)':<16} {_f(r.specialist_score):>6} "
                     f"{r.primary:<10} {_f(r.primary_score):>6} {_bound(r.evidence):>8} {_ms(r.specialist_p50_ms):>9} "
                     f"{_ms(r.primary_p50_ms):>9} {_mem(human, r.specialist_memory_bytes):>9} "
                     f"{_mem(human, r.primary_memory_bytes):>9} {_usd(r.specialist_cost_per_1k):>10} "
                     f"{_usd(r.primary_cost_per_1k):>10} {r.examples:>3}  {r.winner}")
    lines += [f"  {r.route}: not scored: {r.note}" for r in rows if r.note]
    return "\n".join(lines)


def _f(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _bound(evidence) -> str:
    """The 95% lower bound of specialist − primary, the number the gate decides on."""
    lower = (evidence or {}).get("lower")
    return "-" if lower is None else f"{lower:+.2f}"


def _usd(value) -> str:
    return "-" if value is None else f"${value:.4f}" if value < 10 else f"${value:.0f}"


def _ms(value) -> str:
    return "-" if value is None else f"{value:.0f} ms" if value >= 1 else f"{value:.2f} ms"


def _mem(human, value) -> str:
    return "-" if value is None else "0" if value == 0 else human(value)
