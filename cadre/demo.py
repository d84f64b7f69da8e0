"""`make demo` (`python -m cadre.demo`): train a team on the bundled data, score it, then answer.

1. trains the shared tokenizer on data/specialized/*.txt (the `cadre tokenizer train`
   code path) into runs/demo/tokenizer;
2. trains the nano router, the vision captioner and the code specialist on the CPU, each
   within a time budget: one epoch is timed, then the epochs that fit are run (with the
   learning-rate schedule set for that many);
3. loads and warms the primary (SmolLM2-135M-Instruct) and the image encoder, timed apart;
4. prints the scoreboard (`cadre scoreboard` on the first examples of each held-out file)
   and records the scores, so a specialist that loses its row does not serve;
5. answers chat, code, a description of the bundled photo and math (and the TEAM's
   requests) through the Engine of configs/cadre.yaml, printing route, reason, latency, answer and
   the answer's check (the code runs in the sandboxed code judge, the math is checked, the
   caption must name the flower). With LoRA adapters in data/adapters/ (TEAM: sql, spam),
   a request written in each one's prompt goes to it when its recorded evidence lets it
   serve; the router learns their routes from their own prompts
   (cadre/training/lora/team.py).

A second run reuses the trained models (`--fresh` retrains). Exit status 1 when an
answer fails its check.
"""
from __future__ import annotations

import argparse
import base64
import os
import time
from dataclasses import dataclass
from pathlib import Path

OUT = Path("runs/demo")
DATA = Path("data/specialized")
PHOTO = Path("data/images/flower.jpg")
CONFIG = Path("configs/cadre.yaml")
TOTAL_BUDGET_S = 390.0     # the demo itself; `make venv` from a fresh clone takes the rest of 10 minutes
ANSWER_RESERVE_S = 170.0   # loading SmolLM2, the scoreboard and answering the six requests
SCOREBOARD_LIMIT = 6       # examples of each held-out file (`cadre scoreboard` runs them all)
HELDOUT = Path("data/heldout")
# LoRA specialists of the catalog that join the demo when their adapter folder (of
# SmolLM2-135M-Instruct, shipped by scripts/ship_adapters.py from a winning `--local-test`
# run) is in data/adapters/NAME and configs/cadre.yaml has their model entry and route
ADAPTERS = Path("data/adapters")
TEAM = tuple(n for n in ("sql", "spam") if (ADAPTERS / n / "cadre.json").is_file())
TEAM_ROUTER = OUT / "team_router.txt"


@dataclass
class Stage:
    """One specialist to train: preset, epochs at most, and its share of the time."""

    type: str
    size: str
    max_epochs: int
    share: float
    lr: float
    batch_size: int
    context: int


STAGES = [
    Stage("router", "nano", 40, 0.30, 3e-3, 32, 64),
    Stage("vision", "micro", 80, 0.45, 2e-3, 16, 96),
    Stage("code", "micro", 60, 0.25, 2e-3, 16, 384),
]


class TimeUp(Exception):
    """Raised from the trainer's step callback when a stage's time is spent."""


def say(text: str = "") -> None:
    print(text, flush=True)


def train_tokenizer(out: Path) -> Path:
    """The shared tokenizer from every bundled file (as `cadre tokenizer train` does)."""
    from cadre.data import load_examples
    from cadre.tokenizer import corpus_texts, save_tokenizer
    from cadre.tokenizer import train_tokenizer as fit

    folder = out / "tokenizer"
    if (folder / "tokenizer.json").is_file():
        say(f"  tokenizer  reusing {folder}")
        return folder
    started = time.perf_counter()
    examples = [ex for f in sorted(DATA.glob("*_training.txt")) for ex in load_examples(f)]
    tok = fit(corpus_texts(examples), vocab_size=4096)
    save_tokenizer(tok, folder)
    say(f"  tokenizer  {tok.get_vocab_size()} tokens from {len(examples)} examples "
        f"in {time.perf_counter() - started:.1f} s → {folder}")
    return folder


def is_trained(folder: Path) -> bool:
    """A complete checkpoint (and, for a router, its finished metadata)."""
    from cadre.checkpoint import REQUIRED_FILES

    return all((folder / f).is_file() for f in REQUIRED_FILES)


def train_stage(stage: Stage, tokenizer: Path, budget_s: float) -> None:
    """Time one epoch, run the epochs that fit the budget, stop at the budget regardless."""
    from cadre.training.trainer import TrainConfig, Trainer

    folder = OUT / stage.type
    if is_trained(folder) and (stage.type != "router" or _router_knows_team(folder)):
        say(f"  {stage.type:<10} reusing {folder}")
        return
    started = time.perf_counter()
    data = [str(DATA / f"{stage.type}_training.txt")] + ([str(_team_router_data())] if stage.type == "router" and TEAM else [])
    cfg = TrainConfig(type=stage.type, data=data, model_size=stage.size,
                      epochs=1, batch_size=stage.batch_size, lr=stage.lr, output=str(folder), quiet=True,
                      tokenizer=str(tokenizer), context=stage.context, device="cpu", seed=0)
    trainer = Trainer(cfg)
    setup_s = time.perf_counter() - started  # data, model and (routers) the teacher; resuming repeats it
    stats = trainer.train()
    per_epoch = time.perf_counter() - started - setup_s
    epochs = max(1, min(stage.max_epochs, int((budget_s - 2 * setup_s) // max(per_epoch, 1e-3))))
    if epochs > 1:
        stats = _continue(folder, epochs, started + budget_s) or stats
    done = stats[-1]
    quality = (f"val acc {done.val_accuracy:.2f}" if done.val_accuracy is not None
               else f"val loss {done.val_loss:.2f}" if done.val_loss is not None else "")
    say(f"  {stage.type:<10} {stage.size} preset, {done.epoch} epoch(s) of {epochs} planned "
        f"({per_epoch:.0f} s/epoch, budget {budget_s:.0f} s) in {time.perf_counter() - started:.0f} s, {quality}")
    if stage.type == "router":
        _finish_router(folder)


def _team_router_data() -> Path:
    """The router's rows for the LoRA specialists: their own prompts (cadre.training.lora.team)."""
    from cadre.training.lora.team import demo_team_rows, write_router_qa

    return write_router_qa(demo_team_rows(TEAM), TEAM_ROUTER)


def _router_knows_team(folder: Path) -> bool:
    """A trained demo router that is exported and has a route for every team specialist."""
    from cadre.checkpoint import parse_metadata

    if not (folder / "model.onnx").is_file():
        return False
    labels = parse_metadata(folder).get("labels") or []
    return all(name in labels for name in TEAM)


def _continue(folder: Path, epochs: int, deadline: float):
    """Resume the one-epoch checkpoint up to `epochs`; stop early (keeping the last saved
    epoch) if the deadline passes."""
    from cadre.training.trainer import EpochStats, TrainConfig, Trainer

    trainer = Trainer(TrainConfig(type="resume", data=[], resume=str(folder), epochs=epochs, quiet=True))

    def guard(step: int) -> None:
        if time.perf_counter() > deadline:
            raise TimeUp()

    trainer.on_step = guard
    try:
        return trainer.train()
    except TimeUp:
        return [EpochStats(**h) for h in trainer.run.state.history] or None


def _finish_router(folder: Path) -> None:
    """ONNX export and thresholds fitted for 90% precision on the held-out split."""
    from cadre.data import load_examples
    from cadre.data.splits import dedupe
    from cadre.routing.intent.fit import finish_nano, split_examples

    rows = load_examples(DATA / "router_training.txt") + (load_examples(_team_router_data()) if TEAM else [])
    _, val = split_examples(dedupe(rows)[0], 0.1, 0)
    meta = finish_nano(folder, val, target_precision=0.9, default_route="chat")
    say(f"  router     exported to ONNX, thresholds fitted on {len(val)} held-out examples "
        f"(target precision 0.9; median {sorted(meta['thresholds'].values())[len(meta['thresholds']) // 2]:.2f})")


def requests() -> list[tuple[str, list[dict], object]]:
    """The demo requests and each one's check (the photo travels as a data URL): chat, code,
    vision, math, then one for each bundled LoRA specialist (TEAM)."""
    from cadre import demo_checks as checks

    photo = "data:image/jpeg;base64," + base64.b64encode(PHOTO.read_bytes()).decode()
    return [
        ("chat", [{"role": "user", "content": "Hi! In one sentence, what is a good way to start learning to cook?"}],
         checks.check_chat),
        ("code", [{"role": "user", "content": "Write a Python function to reverse a string."}], checks.check_reverse),
        ("vision", [{"role": "user", "content": [{"type": "text", "text": "What do you see in this photo?"},
                                                  {"type": "image_url", "image_url": {"url": photo}}]}],
         checks.check_caption),
        ("math", [{"role": "user", "content": "Solve 3x + 7 = 22 for x."}], lambda text: checks.check_math(text, 5)),
    ] + [(name, [{"role": "user", "content": checks.TEAM_REQUESTS[name][0]}], checks.TEAM_REQUESTS[name][1])
         for name in TEAM]


def answer(engine) -> int:
    """Answer each request, print who answered, why, how fast and the check; the failures."""
    failed = 0
    for label, messages, check in requests():
        result = engine.chat(messages, max_tokens=96)
        ok, how = check(result.text)
        failed += not ok
        say(f"\n[{label}] {_text(messages)}")
        say(f"  route:   {result.route.name if result.route else '-'} → {result.model}")
        say(f"  reason:  {result.reason}")
        lost = _lost(engine, label)
        if lost:
            say(f"  note:    the {label} specialist lost its scoreboard row ({lost}); the primary answers")
        say(f"  latency: {result.latency_ms:.0f} ms (models already loaded)")
        say("  answer:  " + result.text.strip().replace("\n", "\n           "))
        say(f"  check:   {'ok' if ok else 'FAILED'}: {how}")
    return failed


def _lost(engine, label: str) -> str:
    """The gate's reason when the route's specialist was skipped for the primary ('' otherwise)."""
    from cadre.runtime.gates import verdict

    capability = {"code": "code_generation", "vision": "vision_captioning"}.get(label)
    spec = engine.registry.for_capability(capability) if capability else None
    if spec is None and label in engine.registry:  # a route naming a model: a LoRA specialist
        spec = engine.registry.get(label)
    if spec is None or spec.name == engine.primary:
        return ""
    found = verdict(spec, engine.primary)
    return "" if found.allowed else found.reason.split(": ", 1)[-1].replace(" → primary", "")


def warm(engine) -> float:
    """Load the primary and the image encoder and run each once, so answers time answering only."""
    from cadre.encoders.image import top_labels

    started = time.perf_counter()
    with engine.manager.use(engine.primary) as backend:
        backend.chat([{"role": "user", "content": "Hi"}], max_tokens=1)
    top_labels(str(PHOTO), k=1)
    return time.perf_counter() - started


def scoreboard(engine, limit: int = SCOREBOARD_LIMIT) -> None:
    """The scoreboard on the first examples of each held-out file, recorded for the gates."""
    from cadre.scoreboard import format_table, run_scoreboard

    rows = run_scoreboard(engine, HELDOUT, limit, progress=lambda text: say("  " + text))
    say("\n".join("  " + line for line in format_table(rows).splitlines()))
    for row in rows:
        if row.specialist_score is not None and row.primary_score is not None:
            serves = row.specialist if row.winner == "specialist" else f"{row.primary} (primary)"
            lower = (row.evidence or {}).get("lower")
            bound = "no paired evidence" if lower is None else f"specialist − primary ≥ {lower:+.2f} (95%)"
            say(f"  {row.route.removeprefix('lora:')}: {row.specialist} {row.specialist_score:.2f} vs {row.primary} "
                f"{row.primary_score:.2f} {row.metric}, {bound} → {serves} serves")


def _text(messages) -> str:
    content = messages[-1]["content"]
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "[image: data/images/flower.jpg]") for p in content)


def memory_table(engine) -> None:
    """Loaded models with measured and estimated memory."""
    from cadre.runtime.memory import human

    say("\nmodels (memory budget " + human(engine.manager.budget("cpu")) + "):")
    for row in engine.manager.status():
        say(f"  {row['name']:<8} {row['state']:<9} measured {human(row['measured_bytes']):>9}  "
            f"estimated {human(row['estimated_bytes']):>9}  loads {row['loads']}")


def _need_sandbox() -> None:
    """The code answer is checked in the code judge's sandbox: say at once if there is none."""
    from cadre.errors import CadreError
    from cadre.evaluation.sandbox import check

    try:
        check()
    except CadreError as exc:
        raise SystemExit(f"error: {exc}") from None


def main(argv=None) -> None:
    """Train (or reuse) the team, then answer the demo requests end to end."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="retrain everything")
    parser.add_argument("--budget-minutes", type=float, default=TOTAL_BUDGET_S / 60,
                        help="training and answering together (default %(default).1f)")
    parser.add_argument("--scoreboard-limit", type=int, default=SCOREBOARD_LIMIT,
                        help="held-out examples per route in the demo's scoreboard (default %(default)s)")
    args = parser.parse_args(argv)
    _need_sandbox()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    if args.fresh:
        import shutil

        shutil.rmtree(OUT, ignore_errors=True)
    train_budget = max(60.0, args.budget_minutes * 60 - ANSWER_RESERVE_S)
    say(f"cadre demo: training on the CPU ({torch.get_num_threads()} threads) within {train_budget:.0f} s, "
        f"then answering within the rest of {args.budget_minutes:.0f} min")
    say("  presets are cut down to fit: router nano, vision micro, code micro (the full recipe uses tiny/small "
        "for hours of training; here each trains for the epochs its time share allows)")
    tokenizer = train_tokenizer(OUT)
    for stage in STAGES:
        left = train_budget - (time.perf_counter() - started)
        train_stage(stage, tokenizer, max(10.0, min(stage.share * train_budget, left)))
    trained = time.perf_counter() - started
    say(f"training done in {trained:.0f} s")
    from cadre.runtime.engine import Engine

    engine = Engine.from_config_file(CONFIG)
    load_s = warm(engine)
    say(f"\nloaded and warmed the primary ({engine.primary}) and the image encoder in {load_s:.1f} s "
        f"(one-time; not counted in answer latency)")
    mark = time.perf_counter()
    say(f"\nscoreboard (first {args.scoreboard_limit} examples of each file in {HELDOUT}; the full run: "
        f"cadre scoreboard --config {CONFIG}):")
    scoreboard(engine, args.scoreboard_limit)
    board_s = time.perf_counter() - mark
    mark = time.perf_counter()
    say(f"\nanswering with {CONFIG}:")
    failed = answer(engine)
    memory_table(engine)
    engine.close()
    say(f"\ndemo finished in {time.perf_counter() - started:.0f} s: training {trained:.0f} s, loading {load_s:.0f} s, "
        f"scoreboard {board_s:.0f} s, answers {time.perf_counter() - mark:.0f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if failed:
        say(f"{failed} of {len(requests())} answers FAILED their check")
        raise SystemExit(1)
    say(f"all {len(requests())} answers passed their checks")


if __name__ == "__main__":
    main()
