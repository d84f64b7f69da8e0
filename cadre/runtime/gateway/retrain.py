"""Retraining a learned router from the gateway's decision log, behind a promotion gate.

Each feedback record becomes one routing-table row: the request's prompt (logged with
`gateway.log_prompts`, or found by its hash in the base table) and one known score, for
the model that answered. A seeded slice of the base table's complete rows is held out;
the candidate is fitted on the rest plus the logged outcomes (none of them on a held-out
prompt), with the current router's kinds and hyper-parameters. It is promoted only if, on
the held-out slice, it is at least as good as the current router both in accuracy at the
current operating point's cost and in AIQ. The current router may have seen the slice in
training, so the gate leans towards keeping it.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np

from cadre.data.routing_tables import RoutingRow, RoutingTable, TableReport, read_routing_table
from cadre.errors import CadreError

EPS = 1e-9


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def feedback_rows(log_path, labels: list[str], base: RoutingTable | None) -> tuple[list[RoutingRow], dict]:
    """Logged outcomes as routing rows (the last feedback per request wins), and counts."""
    from cadre.runtime.gateway.decisions import read_log

    contents = read_log(log_path)
    decisions = {d["id"]: d for d in contents.decisions if "id" in d}
    by_hash = {_hash(p): p for p in (base.prompts if base is not None else [])}
    last = {f["id"]: f for f in contents.feedback}
    counts = {"feedback": len(contents.feedback), "requests_with_feedback": len(last), "used": 0,
              "no_prompt": 0, "unknown_model": 0, "unknown_id": 0, "bad_lines": len(contents.bad_lines)}
    rows = []
    for rid, fb in last.items():
        decision = decisions.get(rid)
        if decision is None:
            counts["unknown_id"] += 1
            continue
        prompt = decision.get("prompt") or by_hash.get(decision.get("prompt_sha256"))
        label = _label_of(fb.get("model") or decision.get("model"), decision, labels)
        if prompt is None:
            counts["no_prompt"] += 1
        elif label is None:
            counts["unknown_model"] += 1
        else:
            cost = (decision.get("candidates") or {}).get(fb.get("model") or decision.get("model"), {}).get("cost")
            rows.append(RoutingRow(prompt, {label: float(fb["score"])},
                                   {label: float(cost)} if cost is not None else {}))
            counts["used"] += 1
    return rows, counts


def _label_of(model: str | None, decision: dict, labels: list[str]) -> str | None:
    """The router label of a registry model named in a decision (or the name itself)."""
    info = (decision.get("candidates") or {}).get(model) or {}
    label = info.get("label") or (decision.get("label") if model == decision.get("model") else None) or model
    return label if label in labels else None


def split_holdout(table: RoutingTable, fraction: float, seed: int) -> tuple[list, list]:
    """(training rows, held-out complete rows): a seeded `fraction` of the complete rows."""
    complete = [i for i, r in enumerate(table.rows) if all(m in r.scores for m in table.models)]
    if len(complete) < 8:
        raise CadreError(f"{table.report.path}: {len(complete)} rows have every model's score; "
                         f"the gate needs at least 8 to hold out")
    rng = np.random.default_rng(seed)
    held = set(rng.choice(complete, size=max(4, int(len(complete) * fraction)), replace=False).tolist())
    return [r for i, r in enumerate(table.rows) if i not in held], [table.rows[i] for i in sorted(held)]


def accuracy_at(curve: list[dict], cost: float) -> float:
    """The best accuracy of a cost–accuracy curve at or below `cost`."""
    within = [p["accuracy"] for p in curve if p["cost"] <= cost * (1 + 1e-6) + EPS]
    return max(within) if within else float("nan")


def gate(current_report: dict, candidate_report: dict) -> dict:
    """The promotion decision from two evaluations on the same held-out rows."""
    cost = current_report["mean_cost"]
    cur_acc = max(current_report["accuracy"], accuracy_at(current_report["curve"], cost))
    new_acc = accuracy_at(candidate_report["curve"], cost)
    cur_aiq, new_aiq = current_report["aiq"], candidate_report["aiq"]
    acc_ok = new_acc >= cur_acc - EPS
    aiq_ok = new_aiq >= cur_aiq - EPS
    why = []
    why.append(f"accuracy at the current cost {cost:.4g}: candidate {new_acc:.4f} vs current {cur_acc:.4f} "
               f"({'ok' if acc_ok else 'worse'})")
    why.append(f"AIQ: candidate {new_aiq:.4f} vs current {cur_aiq:.4f} ({'ok' if aiq_ok else 'worse'})")
    return {"promoted": bool(acc_ok and aiq_ok), "cost": cost, "current_accuracy": cur_acc,
            "candidate_accuracy": new_acc, "current_aiq": cur_aiq, "candidate_aiq": new_aiq,
            "reason": "; ".join(why)}


def retrain(log_path, current_dir, output, table_path=None, holdout: float = 0.2, seed: int = 0,
            force: bool = False, cache=True, progress=None) -> dict:
    """Fit a candidate on base + logged outcomes, gate it, and write it to `output` only
    when promoted (or `force`). Returns the report."""
    from cadre.routing.learned.router import LearnedRouter, fit_learned
    from cadre.routing.learned.evaluate import evaluate

    current = LearnedRouter(current_dir)
    labels = current.labels
    base = read_routing_table(table_path, labels) if table_path else None
    if base is None:
        raise CadreError("give --table BASE.jsonl: the gate holds out rows with every model's score, "
                         "which feedback alone (one model per request) never has")
    train_rows, held_rows = split_holdout(base, holdout, seed)
    rows, counts = feedback_rows(log_path, labels, base)
    held_hashes = {_hash(r.prompt) for r in held_rows}
    kept = [r for r in rows if _hash(r.prompt) not in held_hashes]
    counts["dropped_on_held_out_prompts"] = len(rows) - len(kept)
    counts["used"] = len(kept)
    if not kept:
        raise CadreError(f"{log_path}: no usable feedback ({_counts_text(counts)})")
    candidate_table = RoutingTable(train_rows + kept, labels, TableReport(path=f"{table_path} + {log_path}"))
    held_table = RoutingTable(held_rows, labels, TableReport(path=f"{table_path} (held out)"))
    kinds = "+".join(current.meta["kinds"])
    hp = current.meta.get("hyperparameters") or None  # {kind: params}, as fit_learned takes it
    tmp = Path(tempfile.mkdtemp(prefix=".retrain-", dir=Path(output).parent if Path(output).parent.exists() else None))
    try:
        fit_learned(candidate_table, tmp / "candidate", kind=kinds, seed=seed,
                    folds=int(current.meta.get("folds", 5)), hp=hp, cache=cache,
                    cost_unit=current.meta.get("cost_unit", "$"),
                    progress=progress)
        candidate = LearnedRouter(tmp / "candidate")
        cur_eval = evaluate(current, held_table, cache=cache)
        new_eval = evaluate(candidate, held_table, cache=cache)
        decision = gate(cur_eval, new_eval)
        report = {"log": str(log_path), "table": str(table_path), "current": str(current_dir),
                  "output": str(output), "feedback": counts, "base_rows": base.report.rows_kept,
                  "train_rows": len(train_rows) + len(kept), "held_out_rows": len(held_rows),
                  "gate": decision, "written": bool(decision["promoted"] or force)}
        if report["written"]:
            from cadre.fsutil import atomic_dir

            with atomic_dir(output) as out:
                shutil.rmtree(out)
                shutil.copytree(tmp / "candidate", out)
        return report
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _counts_text(counts: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
