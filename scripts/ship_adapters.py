"""Ship the demo's LoRA adapters: small SmolLM2-135M adapters (the top layers' LoRA, a
megabyte or two each) with their recorded scores and gate evidence, in data/adapters/NAME.

    python scripts/ship_adapters.py                      # train the demo's team (--local-test), ship the winners
    python scripts/ship_adapters.py --from runs/bench-specialists   # ship what benchmarks/specialists.py trained

Each specialist is trained by `cadre specialist run NAME --local-test` (bundled data: no
../shared needed) unless --from names a folder with its finished run. Only an adapter that
passed its gates (a confident win over the primary, exported by the run) is shipped; a
loser is reported and left out, so `make demo` never serves it. The shipped folder holds
adapter_model.safetensors, adapter_config.json, cadre.json (metrics, evidence and the
scoreboard row they give, so the gate lets it serve; no machine-specific paths) and REPORT.md (the run's report); the tokenizer is the base's.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHIPPED = ROOT / "data" / "adapters"
FILES = ("adapter_model.safetensors", "adapter_config.json")


def train(name: str, out: Path) -> None:
    """`cadre specialist run NAME --local-test` into `out` (exit 3, a missed gate, is a result)."""
    cmd = [sys.executable, "-m", "cadre.cli.main", "specialist", "run", name, "--local-test", "--quiet",
           "--output", str(out)]
    print("$ " + " ".join(cmd[1:]), flush=True)
    done = subprocess.run(cmd, cwd=ROOT, check=False)
    if done.returncode not in (0, 3):
        raise SystemExit(f"error: {name}: cadre specialist run exited {done.returncode}")


def portable_metadata(meta: dict) -> dict:
    """cadre.json without this machine's paths: the base by name, the data files by name."""
    meta = {k: v for k, v in meta.items() if k != "base_path"}
    meta["data_manifest"] = {Path(str(path)).name: sha for path, sha in (meta.get("data_manifest") or {}).items()}
    return meta


def ship(name: str, run: Path) -> str:
    """Copy a passed run's adapter into data/adapters/NAME atomically; a line saying what happened."""
    from cadre.fsutil import atomic_dir

    report = json.loads((run / "report.json").read_text())
    if not (run / "adapter" / "cadre.json").is_file() or not report["gates"]["passed"]:
        return f"{name}: not shipped, its gate missed ({report['gates']['summary']})"
    meta = portable_metadata(json.loads((run / "adapter" / "cadre.json").read_text()))
    meta["local_test"] = {"recipe": f"configs/specialists/{name}.yaml (local_test)", "seconds": report.get("timings")}
    adapter_config = json.loads((run / "adapter" / "adapter_config.json").read_text())
    adapter_config["base_model_name_or_path"] = meta.get("base")  # not this machine's cache folder
    with atomic_dir(SHIPPED / name) as tmp:
        shutil.copy2(run / "adapter" / FILES[0], tmp / FILES[0])
        (tmp / FILES[1]).write_text(json.dumps(adapter_config, indent=2) + "\n")
        (tmp / "cadre.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        (tmp / "REPORT.md").write_text((run / "report.md").read_text().replace(f"{ROOT}/", ""))
    record(name, SHIPPED / name)
    ev = meta.get("evidence") or {}
    size = (SHIPPED / name / FILES[0]).stat().st_size / 2**20
    return (f"{name}: shipped {size:.1f} MB to {SHIPPED / name}: {ev.get('metric', '?')} "
            f"{ev.get('primary', 0):.3f} → {ev.get('specialist', 0):.3f}, lower bound {ev.get('lower', 0):+.3f} "
            f"(n={ev.get('n')})")


def record(name: str, folder: Path, primary: str = "smollm2") -> None:
    """Record the run's scoreboard row in the shipped cadre.json, as `cadre scoreboard
    --routes lora` would: the gate then lets it serve (or not) from its evidence."""
    from cadre.runtime.registry import ModelCapability, ModelSpec, Registry
    from cadre.scoreboard.board import lora_rows, record_score

    class Project:  # what lora_rows and record_score read of an engine
        registry = Registry([ModelSpec(name=name, path=str(folder), capabilities=(ModelCapability.SPECIALIST,))])

    Project.primary = primary
    for row, _ in lora_rows(Project):
        record_score(Project, row, Path(f"the test split of cadre specialist run {name} --local-test"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default="spam,sql",
                        help="Specialists to ship (default %(default)s; all on bundled data).")
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="A folder of finished runs (NAME/report.json); default: train them now.")
    args = parser.parse_args()
    lines = []
    for name in [n for n in args.names.split(",") if n]:
        run = (args.source or ROOT / "runs" / "ship-adapters") / name
        if args.source is None or not (run / "report.json").is_file():
            train(name, run)
        lines.append(ship(name, run))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
