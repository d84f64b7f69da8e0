"""The specialist catalog on the SmolLM2-135M base with the local-test recipe, through
`cadre fleet run` on a local Ray instance (one CPU), one row per specialist.

    CADRE_SHARED=/work/shared python benchmarks/specialists.py [--specs a,b] [--output DIR]

Per specialist: the primary's zero-shot score (the base model with the specialist's prompt),
the specialist's score (base + LoRA), the paired bootstrap's 95% lower bound of their
difference on the same test examples, the winner (a specialist wins only when its gates pass: with confidence,
lower bound > 0 and sign test p < 0.05), then p50 latency and CPU-seconds of one request
(batch 1, one thread, 8 test prompts) for each side, memory, and cost per 1,000 requests
(CPU-seconds x CPU_HOUR_USD). `--specs` runs only those; the table still lists the whole
catalog from the finished runs in --output, so a run that died midway is completed by
rerunning the missing ones. SST-2, TREC, CoNLL-2003, GSM8K and MBPP are read from
../shared (CADRE_SHARED); the rest are bundled.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._report import table, write_section  # noqa: E402

SECTION = "Specialists: the catalog against the primary, with evidence"
# AWS c7i.large on-demand, us-east-1: $0.08925 per hour for 2 vCPUs (docs/fleet.md)
CPU_HOUR_USD = 0.08925 / 2
LATENCY_PROMPTS = 5
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def run_fleet(specs: list[str], out: Path, cpus: int = 1) -> tuple[float, str]:
    """`cadre fleet run` (resuming finished rows); (seconds, its output)."""
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "cadre.cli.main", "fleet", "run", *specs, "--local-test",
                           "--cpus", str(cpus), "--quiet", "--retries", "1", "--output", str(out)],
                          capture_output=True, text=True, env=ENV, cwd=ROOT)
    if done.returncode not in (0, 3):
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
    return time.time() - t0, done.stdout


def request_cost(model, tokenizer, spec, examples: list[dict], labels) -> tuple[float, float]:
    """p50 latency (ms) and mean CPU-seconds of one request at batch 1."""
    from cadre.training.lora.evaluate import classify, encode_prompt, generate, render_prompt

    wall, cpu = [], []
    for ex in examples:
        ids = [encode_prompt(tokenizer, render_prompt(tokenizer, ex["prompt"], spec.prompt.system))]
        w0, c0 = time.perf_counter(), time.process_time()
        if spec.is_classification:
            classify(model, tokenizer, ids, labels, spec.scoring, 1)
        else:
            generate(model, tokenizer, ids, spec.training.max_new_tokens, 1)
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.mean(cpu)


def measure(name: str, folder: Path, base) -> dict:
    """Latency, CPU and memory of the primary and of the specialist (its adapter, exported
    or kept as a rejected candidate) on the first test prompts."""
    from peft import PeftModel

    from cadre.training.lora.catalog import load_specialist

    spec = load_specialist(name).for_local_test()
    report = json.loads((folder / "report.json").read_text())
    tests = [json.loads(line) for line in (folder / "data" / "test.jsonl").read_text().splitlines()[:LATENCY_PROMPTS]]
    model, tokenizer = base
    p50_p, cpu_p = request_cost(model, tokenizer, spec, tests, report["labels"])
    out = {"primary_p50_ms": p50_p, "primary_cpu_s": cpu_p,
           "base_mb": sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20}
    adapter = next((folder / d for d in ("adapter", "rejected-adapter") if (folder / d).is_dir()), None)
    if adapter is not None:
        tuned = PeftModel.from_pretrained(model, str(adapter))
        p50_s, cpu_s = request_cost(tuned, tokenizer, spec, tests, report["labels"])
        out.update(specialist_p50_ms=p50_s, specialist_cpu_s=cpu_s,
                   adapter_mb=(adapter / "adapter_model.safetensors").stat().st_size / 2**20)
        tuned.unload()  # the base without LoRA layers, for the next specialist
    return out


def load_base():
    import torch

    from cadre.training.lora.pipeline import load_base

    torch.set_num_threads(1)
    _, tokenizer, model, _ = load_base("smollm2-135m-instruct")
    return model.eval(), tokenizer


def fleet_walls(out: Path) -> dict:
    """Each specialist's fleet task wall time (s), from the fleet report."""
    path = out / "fleet.json"
    rows = json.loads(path.read_text())["rows"] if path.is_file() else {}
    rows = rows.values() if isinstance(rows, dict) else rows
    return {r["name"]: r.get("wall_s") for r in rows if isinstance(r, dict) and "name" in r}


def row(name: str, folder: Path, costs: dict, wall: float | None = None) -> list:
    report = json.loads((folder / "report.json").read_text())
    metric = report["gates"]["metric"]
    base, tuned = report["baseline"]["metrics"][metric], report["finetuned"]["metrics"][metric]
    ev = report.get("evidence") or {}
    won = bool(ev.get("confident_win"))
    # it serves only when every gate passed: the confident win and any score floor
    floor = next((c["check"] for c in report["gates"]["checks"] if c["enforced"] and not c["passed"]
                  and c["check"].startswith("fine-tuned ") and ">=" in c["check"] and "lower bound" not in c["check"]), None)
    serves = ("yes" if report["gates"]["passed"] else "no: no confident win" if not won
              else f"no: misses {floor}" if floor else "no")
    per_1k = lambda cpu: None if cpu is None else round(cpu * 1000 * CPU_HOUR_USD / 3600, 5)  # noqa: E731
    mem_s = (f"{costs['base_mb']:.0f} + {costs['adapter_mb']:.1f} MB" if "adapter_mb" in costs else "-")
    return [name, f"{metric} (n={ev.get('n', report['baseline']['n'])})", round(base, 3), round(tuned, 3),
            "-" if ev.get("lower") is None else f"{ev['lower']:+.3f}",
            f"{costs['primary_p50_ms']:.0f} / {costs.get('specialist_p50_ms', float('nan')):.0f}",
            f"{costs['base_mb']:.0f} MB / {mem_s}",
            f"${per_1k(costs['primary_cpu_s'])} / ${per_1k(costs.get('specialist_cpu_s'))}",
            "specialist" if won else "primary", serves, "-" if wall is None else f"{wall:.0f}"]


def main() -> None:
    from cadre.training.lora.catalog import catalog

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", default=",".join(catalog()),
                        help="Specialists to run; the table lists the whole catalog, reusing finished runs "
                             "in --output (so a rerun of the missing ones completes it).")
    parser.add_argument("--output", type=Path, default=ROOT / "runs" / "bench-specialists")
    parser.add_argument("--notes", type=Path, default=ROOT / "benchmarks" / "specialists_notes.md",
                        help="Markdown appended under the table: why each loser lost, what was tried.")
    parser.add_argument("--cpus", type=int, default=1, help="CPUs of the local Ray instance: specialists "
                                                                  "trained at once, one torch thread each.")
    parser.add_argument("--no-fleet", action="store_true", help="Only re-read the fleet folder and measure.")
    args = parser.parse_args()
    specs = [s for s in args.specs.split(",") if s]
    load0 = os.getloadavg()
    seconds, fleet_out = (0.0, "") if args.no_fleet else run_fleet(specs, args.output, args.cpus)
    print(fleet_out, flush=True)
    base, rows, walls = load_base(), [], fleet_walls(args.output)
    for name in catalog():
        folder = args.output / name
        if not (folder / "report.json").is_file() or "finetuned" not in json.loads((folder / "report.json").read_text()):
            rows.append([name, "not run", "-", "-", "-", "-", "-", "-", "-", "-", "-"])
            continue
        rows.append(row(name, folder, measure(name, folder, base), walls.get(name)))
        print(rows[-1], flush=True)
    wins = sum(r[-3] == "specialist" for r in rows)
    serving = sum(r[-2] == "yes" for r in rows)
    body = (table(["specialist", "metric (test n)", "primary zero-shot", "specialist", "95% lower bound of diff",
                   "p50 ms primary / specialist", "memory primary / specialist", "cost per 1k req primary / specialist",
                   "winner (with confidence)", "serves (all gates)", "local-test run s (fleet task)"], rows)
            + f"\n\n**{wins} of {len(rows)}** specialists win with confidence; {serving} also pass every gate "
              f"(a spec's score floor too) and serve. Primary: the SmolLM2-135M-Instruct "
              f"base zero-shot with the specialist's prompt; specialist: the same base + the LoRA adapter its "
              f"`--local-test` run trained (a fixed seeded sample; see each spec's local_test block). Fleet: "
              f"`cadre fleet run --local-test --cpus {args.cpus}` on local Ray, {seconds:.0f} s wall; load average "
              f"{load0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (2 cores shared). "
              f"Latency and CPU: batch 1, one thread, the first {LATENCY_PROMPTS} test prompts. Cost: CPU-seconds "
              f"x ${CPU_HOUR_USD:.4f} per CPU-hour (c7i.large on demand). Memory: parameter bytes; a specialist "
              f"adds its adapter to the shared base.")
    if args.notes and args.notes.is_file():
        body += "\n\n" + args.notes.read_text(encoding="utf-8").strip()
    write_section(SECTION, body, "CADRE_SHARED=/work/shared python benchmarks/specialists.py")
    (args.output / "rows.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
