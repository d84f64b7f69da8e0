"""Old tree against new, alternating in one run (`gateway_overhead.py --compare-tree DIR`).

Both trees serve the same projects (the same nano and learned router folders, one stub
upstream). Each round measures every kind as one paired block: the stub called directly,
then old and new back to back (which goes first alternates by round), so drift in the
machine's load falls on both sides of a pair alike. Reported: the added p50 at 1 client
(the target's p50 minus the direct p50 of the same block) for a named model, model=auto
through the nano router and through the learned router, and `/v1/route` decisions per
second at 64 clients; then new/old as the median of the per-round ratios with a bootstrap
95% interval, and whether new is within 5% of old or better (the median ratio).
"""
from __future__ import annotations

import os
import random
import statistics
import sys
from pathlib import Path

from benchmarks import _gateway_setup as setup
from benchmarks._loadgen import build_request, run_load
from benchmarks._report import table, write_section
from benchmarks.gateway_overhead import AUTH, PROMPT, ROOT, cadre_cmd, chat_request, free_port, run_rounds, start

TREES = ("old", "new")
KINDS = {"named": ("nano", "stub"), "nano": ("nano", "auto"), "learned": ("learned", "auto")}
TOLERANCE = 0.05


def stand_up(args, folder: Path, procs: list) -> dict:
    """The stub, then a nano and a learned server per tree; returns server → port."""
    ports = {"stub": free_port()}
    procs.append(start([sys.executable, "-m", "cadre.server.stub_upstream", "--port", str(ports["stub"])],
                       ports["stub"], "/stats"))
    url = f"http://127.0.0.1:{ports['stub']}/v1"
    configs = {"nano": setup.nano_project(folder, url, setup.nano_router(folder)),
               "learned": setup.learned_project(folder, url, setup.learned_router(folder))}
    roots = {"old": Path(args.compare_tree).resolve(), "new": ROOT}
    for tree in TREES:
        for project, config in configs.items():
            key = f"{tree}-{project}"
            ports[key] = free_port()
            procs.append(start(cadre_cmd(config, ports[key], args.workers), ports[key], "/health",
                               env={"PYTHONPATH": str(roots[tree])}, cwd=roots[tree]))
    return ports


def targets(ports: dict) -> dict[str, tuple[int, str]]:
    out = {"direct": (ports["stub"], "stub")}
    for tree in TREES:
        for kind, (project, model) in KINDS.items():
            out[f"{tree} {kind}"] = (ports[f"{tree}-{project}"], model)
    return out


async def one_round(tgts: dict, ports: dict, order: list[str], results: dict, loads: list) -> None:
    """One paired block per kind: direct, then old and new back to back (alternating)."""
    flip = len(results.get("direct named", [])) % 2
    kinds = [name.split(" ", 1)[1] for name in order if name.startswith("new ")]
    for kind in kinds:
        trees = TREES[::-1] if flip else TREES
        for name in ("direct", *(f"{tree} {kind}" for tree in trees)):
            port, model = tgts[name]
            key = f"direct {kind}" if name == "direct" else name
            results.setdefault(key, []).append(await run_load(port, chat_request(port, model, False), 1, 300, 20.0))
            loads.append(os.getloadavg()[0])
    for project in ("nano", "learned"):
        for tree in TREES[::-1] if flip else TREES:
            key = f"{tree}-{project}"
            request = build_request(ports[key], "/v1/route", {"input": PROMPT}, AUTH)
            results.setdefault(("route", key), []).append(await run_load(ports[key], request, 64, 10_000, 5.0))


async def warm_up(tgts: dict, ports: dict) -> None:
    for port, model in tgts.values():
        await run_load(port, chat_request(port, model, False), 4, 25, 30.0)
    for key in (k for k in ports if k != "stub"):
        await run_load(ports[key], build_request(ports[key], "/v1/route", {"input": PROMPT}, AUTH), 4, 25, 30.0)


def _added(results: dict, name: str) -> list[float]:
    direct = results[f"direct {name.split(' ', 1)[1]}"]
    return [a["p50"] - b["p50"] if a["p50"] is not None and b["p50"] is not None else float("nan")
            for a, b in zip(results[name], direct)]


def _paired_ratio(new: list[float], old: list[float]) -> tuple[float, float, float] | None:
    """Median of the per-round new/old ratios and a seeded bootstrap 95% interval of it."""
    ratios = [n / o for n, o in zip(new, old) if o == o and n == n and o > 0]
    if not ratios:
        return None
    rng = random.Random(0)
    boots = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2000))
    return statistics.median(ratios), boots[49], boots[1949]


def _ms(values: list[float]) -> str:
    values = [v for v in values if v == v]
    if len(values) < 2:
        return f"{values[0]:.3f}" if values else "–"
    return f"{statistics.median(values):.3f} (sd {statistics.stdev(values):.3f})"


def _row(label: str, old: str, new: str, paired, higher_is_better: bool) -> tuple[list, bool]:
    if paired is None:
        return [label, old, new, "–", "–", "NO"], False
    mid, low, high = paired
    good = mid >= 1 - TOLERANCE if higher_is_better else mid <= 1 + TOLERANCE
    return [label, old, new, f"{mid:.3f}", f"{low:.3f}–{high:.3f}", "yes" if good else "NO"], good


def report(results: dict, args, loads: list) -> tuple[str, bool]:
    """The table, and whether new is within 5% of old (or better) on every row."""
    rows, ok = [], True
    for kind in KINDS:
        old, new = _added(results, f"old {kind}"), _added(results, f"new {kind}")
        row, good = _row(f"added p50 ms, {kind}", _ms(old), _ms(new), _paired_ratio(new, old), False)
        rows.append(row)
        ok &= good
    for project in ("nano", "learned"):
        old = [r["rps"] for r in results[("route", f"old-{project}")]]
        new = [r["rps"] for r in results[("route", f"new-{project}")]]
        row, good = _row(f"/v1/route decisions/s, {project}", f"{statistics.median(old):.0f}",
                         f"{statistics.median(new):.0f}", _paired_ratio(new, old), True)
        rows.append(row)
        ok &= good
    head = (f"Old tree {args.compare_tree} against this one, {args.rounds} rounds; each round measures every kind "
            f"as a paired block (the stub direct, then old and new back to back, which goes first alternating), "
            f"{args.workers} worker per server. Old and new columns: median (sd) over rounds; new/old: the median "
            f"of the per-round ratios, with a seeded bootstrap 95% interval. Load average (1 min) during the runs "
            f"{min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores.")
    body = "\n\n".join([head, table(["figure", "old", "new", "new/old", "95% interval", "within 5%"], rows)])
    return body, ok


def main(args, folder: Path) -> None:
    _, results, loads = run_rounds(args, folder, stand_up, targets, warm_up, one_round)
    body, ok = report(results, args, loads)
    print(body)
    print("verdict:", "new within 5% of old or better" if ok else "new is NOT within 5% of old on every row")
    if not args.no_write:
        command = f"python benchmarks/gateway_overhead.py --compare-tree {args.compare_tree} --rounds {args.rounds}"
        write_section("Gateway overhead, old tree against new (issue 24)", body, command)
