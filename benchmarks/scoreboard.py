"""The scoreboard of a project (default configs/cadre.yaml, trained by `make demo`) into
docs/benchmarks.md: each route's specialist against the primary on data/heldout.

    python benchmarks/scoreboard.py [--config configs/cadre.yaml] [--limit N]

The specialist and the primary answer each held-out example in turn (alternating, so a
change in machine load hits both alike). The load average is recorded before and after:
the machine is shared, and latencies scale with it; scores do not (greedy decoding).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import table, write_section

SECTION = "Scoreboard: specialists vs the primary"


def main(argv=None) -> None:
    """Run the scoreboard, print it, and write its section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/cadre.yaml")
    parser.add_argument("--heldout", default="data/heldout")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    import torch

    from cadre.runtime.engine import Engine
    from cadre.scoreboard import format_table, run_scoreboard

    torch.set_num_threads(os.cpu_count() or 1)
    load_before, started = os.getloadavg()[0], time.perf_counter()
    engine = Engine.from_config_file(args.config)
    try:
        rows = run_scoreboard(engine, args.heldout, args.limit, progress=print)
    finally:
        engine.close()
    wall, load_after = time.perf_counter() - started, os.getloadavg()[0]
    print(format_table(rows))
    body = table(["route", "metric", "specialist", "specialist score", "primary", "primary score",
                  "p50 specialist ms", "p50 primary ms", "n", "winner"],
                 [[r.route, r.metric, r.specialist or "-", _v(r.specialist_score), r.primary, _v(r.primary_score),
                   _v(r.specialist_p50_ms), _v(r.primary_p50_ms), r.examples, r.winner] for r in rows])
    limit = f"the first {args.limit} examples of each file" if args.limit else "every example"
    body += (f"\n\n{limit} of `{args.heldout}`; project `{args.config}`. Wall {wall:.0f} s; load average "
             f"{load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} cores "
             f"({'a loaded shared machine: latencies are inflated' if max(load_before, load_after) > 2 else 'quiet'}).")
    command = "python benchmarks/scoreboard.py" + (f" --limit {args.limit}" if args.limit else "")
    write_section(SECTION, body, command)


def _v(value):
    return "-" if value is None else value


if __name__ == "__main__":
    main()
