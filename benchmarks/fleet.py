"""The fleet on the local Ray instance against the same specialists run one after another,
a killed worker, and `router collect --ray` against a single-process collect.

    python benchmarks/fleet.py [--specs sentiment,intent,code,math] [--max-steps N]

1. Four catalog specialists with `--local-test`: `cadre specialist run` one after another
   (one thread each, as a fleet task gets one CPU), then `cadre fleet run` on a local Ray
   instance. Wall times, the fleet report, and whether every baseline and fine-tuned metric
   matches the sequential run exactly (same seeds).
2. One specialist whose Ray worker is killed (SIGKILL) mid-run: it is retried and the
   fleet report is complete.
3. `cadre router collect` over the bundled math questions (data/heldout/math.jsonl)
   against two local models (SmolLM2-135M in fp32 and int8), single-process then
   `--ray --shards 2`: the same table, and each one's wall time.
The catalog's data is read from ../shared (CADRE_SHARED), which a clone does not have.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._report import table, write_section  # noqa: E402

SECTION = "Fleet: Ray fan-out against sequential runs"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def cadre(*args, check=True) -> tuple[float, subprocess.CompletedProcess]:
    """Run the CLI; (seconds, result)."""
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, args)], capture_output=True,
                          text=True, env=ENV, cwd=ROOT)
    if check and done.returncode not in (0, 3):
        raise SystemExit(f"cadre {' '.join(map(str, args))} failed ({done.returncode}): {done.stderr[-1500:]}")
    return time.time() - t0, done


def metrics(report: dict) -> tuple:
    metric = report["gates"]["metric"]
    return report["baseline"]["metrics"][metric], report["finetuned"]["metrics"][metric]


def fleet_vs_sequential(specs: list[str], work: Path, extra: list[str]) -> tuple[str, dict]:
    seq_times, seq = {}, {}
    for name in specs:
        seconds, _ = cadre("specialist", "run", name, "--local-test", "--quiet", "--output", work / "seq" / name, *extra)
        seq_times[name] = seconds
        seq[name] = metrics(json.loads((work / "seq" / name / "report.json").read_text()))
        print(f"  sequential {name}: {seconds:.0f} s {seq[name]}", flush=True)
    fleet_s, done = cadre("fleet", "run", *specs, "--local-test", "--output", work / "fleet", *extra)
    rows = json.loads((work / "fleet" / "fleet.json").read_text())["rows"]
    same = {n: (rows[n]["baseline"], rows[n]["finetuned"]) == seq[n] for n in specs}
    print(done.stdout, flush=True)
    lines = table(["specialist", "metric", "baseline", "fine-tuned", "sequential s", "fleet task s", "same metrics"],
                  [[n, rows[n]["metric"], rows[n]["baseline"], rows[n]["finetuned"], round(seq_times[n]),
                    rows[n]["wall_s"], "yes" if same[n] else f"no (sequential {seq[n]})"] for n in specs])
    total = sum(seq_times.values())
    text = (f"{lines}\n\nOne after another: **{total:.0f} s**. As a fleet on the local Ray instance "
            f"({os.cpu_count()} CPUs, one per task): **{fleet_s:.0f} s** ({total / fleet_s:.2f}× faster), "
            f"Ray start-up included. Metrics identical to the sequential runs: "
            f"**{sum(same.values())}/{len(specs)}**.\n\nThe fleet report:\n\n{done.stdout.split(chr(10) * 2)[0]}")
    return text, {"sequential_s": total, "fleet_s": fleet_s, "same": same}


def killed_worker(name: str, work: Path, extra: list[str]) -> str:
    out = work / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "fleet", "run", name, "--local-test",
                             "--output", out, "--retries", "2", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    attempts = out / name / "attempts.jsonl"
    deadline = time.time() + 600
    while time.time() < deadline and not (attempts.is_file() and attempts.read_text().strip()):
        time.sleep(0.5)
    time.sleep(15)  # into the run: the base model is loaded and the baseline under way
    pid = json.loads(attempts.read_text().splitlines()[0])["pid"]
    os.kill(pid, signal.SIGKILL)
    stdout, _ = proc.communicate(timeout=1800)
    row = json.loads((out / "fleet.json").read_text())["rows"][name]
    return (f"`{name}`'s worker (pid {pid}) was killed with SIGKILL 15 s into the run. Fleet exit code "
            f"{proc.returncode}; the row: status **{row['status']}**, attempt **{row.get('attempt')}**, "
            f"{row.get('metric')} baseline {row.get('baseline')} → fine-tuned {row.get('finetuned')}.")


def collect_single_vs_ray(work: Path) -> str:
    config = work / "two-local.yaml"
    config.write_text("models:\n"
                      "  - {name: smollm2, path: smollm2-135m-instruct, capabilities: [primary_chat], memory_mb: 600}\n"
                      "  - {name: smollm2-int8, path: smollm2-135m-instruct, quantization: int8, "
                      "capabilities: [primary_chat], memory_mb: 300}\n")
    common = ["router", "collect", "--models", "smollm2,smollm2-int8", "--data", ROOT / "data/heldout/math.jsonl",
              "--judge", "numeric", "--prompt-column", "problem", "--config", config, "--no-progress",
              "--max-tokens", "48", "--concurrency", "1"]
    rows = []
    for label, args in (("single process", []), ("--ray --shards 2", ["--ray", "--shards", "2"])):
        out = work / f"collect-{len(rows)}.jsonl"
        seconds, done = cadre(*common, "--output", out, *args)
        rows.append([label, round(seconds, 1), sum(1 for _ in out.open())])
    same = (work / "collect-0.jsonl").read_bytes() == (work / "collect-1.jsonl").read_bytes()
    return (table(["collect", "wall s", "rows"], rows) +
            f"\n\nThe two routing tables are byte-identical: **{'yes' if same else 'no'}** "
            f"(20 questions × 2 local models, greedy, 48 tokens; each shard loads both models itself).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", default="sentiment,intent,code,math")
    parser.add_argument("--max-steps", type=int, default=None, help="Cap each run's optimizer steps.")
    parser.add_argument("--skip", default="", help="Comma-separated parts to skip: fleet, kill, collect.")
    args = parser.parse_args()
    specs, skip = args.specs.split(","), set(filter(None, args.skip.split(",")))
    extra = ["--max-steps", str(args.max_steps)] if args.max_steps else []
    work = Path(tempfile.mkdtemp(prefix="cadre-fleet-bench-"))
    load0, started = os.getloadavg(), time.time()
    parts = []
    if "fleet" not in skip:
        parts.append(fleet_vs_sequential(specs, work, extra)[0])
    if "kill" not in skip:
        parts.append(killed_worker(specs[0], work, extra))
    if "collect" not in skip:
        parts.append(collect_single_vs_ray(work))
    load1 = os.getloadavg()
    head = (f"Specialists {', '.join(specs)} with `--local-test`" + (f" and `--max-steps {args.max_steps}`" if extra
                                                                      else "")
            + f". Load average {load0[0]:.1f} → {load1[0]:.1f}; total {time.time() - started:.0f} s.")
    body = "\n\n".join([head, *parts])
    print(body)
    cmd = "python benchmarks/fleet.py" + (f" --specs {args.specs}" if args.specs != "sentiment,intent,code,math"
                                          else "") + (f" --max-steps {args.max_steps}" if extra else "")
    write_section(SECTION, body, cmd)


if __name__ == "__main__":
    main()
