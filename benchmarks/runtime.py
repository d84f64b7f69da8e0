"""Runtime benchmark: loading and memory per specialist, routing overhead inside
Engine.generate, a swap storm under a budget that holds two of four specialists, and how
often SmolLM2 writes a valid tool call.

    python benchmarks/runtime.py                 # every section
    python benchmarks/runtime.py --only storm    # one section (load, overhead, storm, toolcalls)

Specialist checkpoints are built from the size presets the seeds name (router nano,
vision tiny, code and math small) with fresh weights: loading, memory and per-token
latency do not depend on training, and untrained models rarely stop early, so every
generation runs its full token count. The router for the overhead section is the one
`make demo` trains (trained here briefly if absent).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._report import table, write_section

ROOT = Path("runs/bench")
SEED_LATENCY = {"router": "< 10 ms", "vision": "50–100 ms", "code": "200–500 ms", "math": "-"}
SEED_RAM = {"router": "5 MB", "vision": "25 MB", "code": "150 MB", "math": "-"}
SPECIALISTS = [("vision", "tiny", 24), ("code", "small", 64), ("math", "small", 32)]
COMMAND = "python benchmarks/runtime.py"


def mb(n) -> str:
    return "-" if n is None else f"{n / 1e6:.1f}"


def p50(xs) -> float:
    return statistics.median(xs)


def build_checkpoint(name: str, preset: str, context: int = 256, vocab: int = 8192) -> Path:
    """A fresh-weight cadre checkpoint of a preset (built once)."""
    from cadre import presets
    from cadre.modeling import build_model, save_checkpoint
    from cadre.tokenizer import tokenizer_file

    folder = ROOT / name
    if (folder / "cadre.json").is_file():
        return folder
    from cadre.fsutil import atomic_dir

    model = build_model(presets.from_name(preset, context=context), vocab)
    with atomic_dir(folder) as tmp:
        save_checkpoint(tmp, model, tokenizer_file().read_text(encoding="utf-8"), {"type": name, "task_kind": "causal", "preset": preset})
    return folder


def router_folder() -> Path:
    """The demo's router, or a nano router trained here for two epochs."""
    demo = Path("runs/demo/router")
    if (demo / "model.onnx").is_file():
        return demo
    folder = ROOT / "router"
    if not (folder / "model.onnx").is_file():
        from cadre.routing.intent.fit import finish_nano
        from cadre.training.trainer import TrainConfig, Trainer

        Trainer(TrainConfig(type="router", data=["data/specialized/router_training.txt"], model_size="nano",
                            epochs=2, batch_size=32, lr=3e-3, output=str(folder), quiet=True, device="cpu")).train()
        finish_nano(folder, default_route="chat")
    return folder


def registry(extra_primary: bool = True):
    from cadre.runtime.registry import ModelCapability as C
    from cadre.runtime.registry import ModelSpec, Registry

    caps = {"vision": C.VISION_CAPTIONING, "code": C.CODE_GENERATION, "math": C.MATH}
    specs = [ModelSpec("router", backend="onnx", path=str(router_folder()), capabilities=(C.INTENT_CLASSIFICATION,))]
    specs += [ModelSpec(n, path=str(build_checkpoint(n, p)), capabilities=(caps[n],)) for n, p, _ in SPECIALISTS]
    if extra_primary:
        specs.append(ModelSpec("smollm2", path="smollm2-135m-instruct", capabilities=(C.PRIMARY_CHAT,), pinned=True))
    return Registry(specs)


# ------------------------------------------------------------------ loading and memory
def section_load() -> str:
    from cadre.runtime.manager import ModelManager

    manager = ModelManager(registry(), memory_budget="8GB", keep_alive=3600)
    rows = []
    for name in manager.slots:
        rows.append(_load_row(manager, name, reps=2 if name == "smollm2" else 5))
        print(rows[-1], flush=True)
    headers = ["model", "preset", "cold load ms", "warm load ms (p50)", "unload ms (p50)", "measured MB cold / warm",
               "tensor MB", "estimate MB", "seed RAM", "latency p50 ms", "work", "seed latency"]
    return table(headers, rows) + (
        "\n\nCold: the first load in the process (libraries already imported); warm: the median of later loads. "
        "Measured: RSS difference across the load (cold includes one-off allocations such as ONNX Runtime's "
        "session setup). The router runs in ONNX Runtime, so it holds no torch tensors.")


def _load_row(manager, name: str, reps: int) -> list:
    slot = manager.slots[name]
    manager.load(name)
    cold, measured = slot.last_load_ms, slot.measured
    warm, unload = [], []
    for _ in range(reps):
        manager.unload(name)
        unload.append(slot.last_unload_ms)
        manager.load(name)
        warm.append(slot.last_load_ms)
    latency, work = _latency(manager, name)
    manager.unload(name)
    preset = {"router": "nano", "smollm2": "135M"}.get(name) or dict((n, p) for n, p, _ in SPECIALISTS)[name]
    tensors = "(onnx)" if name == "router" else mb(slot.tensors)
    return [name, preset, round(cold), round(p50(warm)), round(p50(unload), 1), f"{mb(measured)} / {mb(slot.measured)}", tensors,
            mb(slot.estimate), SEED_RAM.get(name, "-"), round(latency, 1), work, SEED_LATENCY.get(name, "-")]


def _latency(manager, name: str) -> tuple[float, str]:
    """p50 of a route() call, or of generating the specialist's fixed number of tokens."""
    tokens = {n: t for n, _, t in SPECIALISTS}.get(name, 16)
    with manager.use(name, return_to_primary=False) as model:
        if name == "router":
            texts = [f"write a python function number {i}" for i in range(200)]
            times = []
            for t in texts:
                started = time.perf_counter()
                model.route(t)
                times.append((time.perf_counter() - started) * 1000)
            return p50(times), "route 1 text"
        prompt = "[E:vision] cat, sleeping, couch" if name == "vision" else "write a function to reverse a string"
        times, produced = [], 0
        for _ in range(3 if name == "smollm2" else 7):
            started = time.perf_counter()
            stream = model.stream([{"role": "user", "content": prompt}], max_tokens=tokens)
            "".join(stream)
            times.append((time.perf_counter() - started) * 1000)
            produced = stream.usage.completion_tokens
        return p50(times), f"{produced} new tokens"


# ------------------------------------------------------------------ routing overhead
def section_overhead(reps: int = 40) -> str:
    from cadre.config import ModelEntry, ProjectConfig, RouterSettings, RuntimeSettings
    from cadre.runtime.engine import Engine

    config = ProjectConfig(models=[
        ModelEntry(name="primary", path=str(build_checkpoint("math", "small")), capabilities=["primary_chat"]),
        ModelEntry(name="router", backend="onnx", path=str(router_folder()), capabilities=["intent_classification"]),
        ModelEntry(name="code", path=str(build_checkpoint("code", "small")), capabilities=["code_generation"]),
    ], router=RouterSettings(model="router"), runtime=RuntimeSettings(memory_budget="4GB"))
    engine = Engine(config)
    prompt, tokens = "write a python function to reverse a string", 8
    first = engine.generate(prompt, max_tokens=tokens)  # loads router and code
    backend = engine.manager.slots["code"].backend
    msgs = [{"role": "user", "content": prompt}]
    direct, routed, route_only = [], [], []
    for _ in range(reps):
        started = time.perf_counter()
        backend.chat(msgs, max_tokens=tokens)
        direct.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        result = engine.generate(prompt, max_tokens=tokens)
        routed.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        engine.route(prompt)
        route_only.append((time.perf_counter() - started) * 1000)
    assert result.model == "code", result.reason
    rows = [["model called directly (backend.chat)", round(p50(direct), 2)],
            ["Engine.generate (route → code specialist)", round(p50(routed), 2)],
            ["overhead (difference of p50s)", round(p50(routed) - p50(direct), 2)],
            ["Engine.route alone (nano ONNX + manager use)", round(p50(route_only), 2)]]
    note = (f"\n\n{reps} alternating repetitions, {tokens} new tokens from the code specialist (small preset); "
            f"route taken: `{first.reason}`.")
    return table(["path", "p50 ms"], rows) + note


# ------------------------------------------------------------------ swap storm
def section_storm(requests: int = 1000) -> str:
    """1,000 requests over 4 specialists under a budget measured to hold 2 of them, from
    4 threads and from 1 (to separate concurrency from the manager's own accounting)."""
    runs = [_storm(requests, workers) for workers in (4, 1)]
    keys = list(runs[0])
    rows = [[k, *(r[k] for r in runs)] for k in keys]
    return table(["swap storm", "4 threads", "1 thread"], rows) + (
        "\n\nFour micro-preset specialists, requests in a seeded random order, 2 new tokens each. Charged memory "
        "is the manager's books (each model's measured RSS Δ, never below its tensor bytes), sampled every 5 ms; "
        "RSS growth is the whole process above its level before the storm: inference buffers, per-thread "
        "allocator arenas and heap slack that the books do not hold (unloads call malloc_trim).")


def _storm_manager():
    from cadre.runtime.manager import ModelManager
    from cadre.runtime.registry import ModelCapability as C
    from cadre.runtime.registry import ModelSpec, Registry

    caps = [C.CODE_GENERATION, C.VISION_CAPTIONING, C.MATH, C.SUMMARIZATION]
    specs = [ModelSpec(f"s{i}", path=str(build_checkpoint(f"storm{i}", "micro")), capabilities=(caps[i],))
             for i in range(4)]
    manager = ModelManager(Registry(specs), memory_budget="8GB", keep_alive=3600)
    for _ in range(2):  # measure each (the second load is past one-off first-load costs)
        for name in manager.slots:
            manager.load(name)
            manager.unload(name)
    needs = sorted(s.need for s in manager.slots.values())
    manager.budgets["cpu"] = needs[-1] + needs[-2] + needs[0] // 2  # any 2 fit, no 3
    return manager, needs


def _storm(requests: int, workers: int) -> dict:
    import random

    import psutil

    manager, needs = _storm_manager()
    budget, rss0 = manager.budget("cpu"), psutil.Process().memory_info().rss
    before = {n: (s.loads, s.load_seconds) for n, s in manager.slots.items()}
    samples, stop, failures, latencies, lock = [], threading.Event(), [], [], threading.Lock()

    def sampler():
        while not stop.is_set():
            samples.append((manager.used_bytes()["cpu"], psutil.Process().memory_info().rss - rss0))
            time.sleep(0.005)

    def worker(items):
        for name in items:
            started = time.perf_counter()
            try:
                with manager.use(name, return_to_primary=False) as model:
                    model.invoke("write a function to add two numbers", max_tokens=2)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    rng = random.Random(0)
    order = [f"s{rng.randrange(4)}" for _ in range(requests)]
    threading.Thread(target=sampler, daemon=True).start()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(order[i::workers],)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    stop.set()
    loads = sum(s.loads - before[n][0] for n, s in manager.slots.items())
    load_s = sum(s.load_seconds - before[n][1] for n, s in manager.slots.items())
    lat = sorted(latencies)
    out = {"requests": requests, "failures": len(failures), "per-model charge MB": ", ".join(mb(n) for n in needs),
           "budget MB (holds 2 of 4)": mb(budget), "peak charged MB (sampled)": mb(max(u for u, _ in samples)),
           "samples over budget": f"{sum(u > budget for u, _ in samples)} of {len(samples)}",
           "peak RSS growth MB (sampled)": mb(max(r for _, r in samples)), "loads": loads,
           "time loading s (sum)": round(load_s, 2), "wall s": round(wall, 2),
           "share of wall time loading": f"{load_s / wall:.0%}" if workers == 1 else "-",
           "request p50 / p95 ms": f"{p50(lat):.1f} / {lat[int(0.95 * len(lat))]:.1f}"}
    if failures:
        out["first failure"] = failures[0][:120]
    return out


# ------------------------------------------------------------------ SmolLM2 tool calls
TOOL_PROMPTS = [
    ("What is 1234 times 5678?", "solve_math"), ("Solve 2x + 3 = 11 for x.", "solve_math"),
    ("Write a Python function that checks whether a number is prime.", "generate_code"),
    ("Write a JavaScript function to sum an array.", "generate_code"),
    ("Translate 'good morning, my friend' into French.", "translate"),
    ("Translate 'where is the station' into German.", "translate"),
    ("Summarize: The meeting covered the budget, the hiring plan and the new office move in May.", "summarize"),
    ("Summarize this: Cats sleep a lot, up to sixteen hours a day, and hunt mostly at dawn and dusk.", "summarize"),
    ("Describe the image at photos/cat.jpg.", "describe_image"), ("What is in the picture beach.png?", "describe_image"),
    ("Make this image prompt better: a dragon over a castle", "enhance_prompt"),
    ("Improve my image prompt: a cat in space", "enhance_prompt"),
]
CHAT_PROMPTS = ["Hi, how are you today?", "Tell me a fun fact about the ocean.", "What is your name?",
                "Give me one tip for better sleep."]


SHOTS = [{"role": "user", "content": "What is 15 plus 27?"},
         {"role": "assistant", "content": '<tool_call>[{"name": "solve_math", "arguments": {"problem": "15 + 27"}}]</tool_call>'},
         {"role": "user", "content": "Summarize: the shop opens at nine and closes at five."},
         {"role": "assistant", "content": '<tool_call>[{"name": "summarize", "arguments": {"text": "the shop opens at nine '
                                          'and closes at five."}}]</tool_call>'}]


def section_toolcalls(max_tokens: int = 64) -> str:
    from cadre.runtime.backends.local import LocalBackend
    from cadre.runtime.registry import ModelCapability as C
    from cadre.runtime.registry import ModelSpec
    from cadre.runtime.tools import TOOL_SCHEMAS, tool_prompt

    backend = LocalBackend(ModelSpec("smollm2", path="smollm2-135m-instruct", capabilities=(C.PRIMARY_CHAT,)))
    backend.load()
    system = [{"role": "system", "content": tool_prompt(list(TOOL_SCHEMAS.values()))}]
    rows, examples = [], []
    for variant, prefix in (("schemas only (the engine's prompt)", system), ("schemas + 2 worked examples", system + SHOTS)):
        counts = _score_variant(backend, prefix, max_tokens, examples, variant)
        rows.append([variant, *counts])
    n = len(TOOL_PROMPTS)
    summary = table(["prompt", f"call-like (of {n})", f"valid call (of {n})", f"right tool (of {n})",
                     f"calls on chat prompts (of {len(CHAT_PROMPTS)})"], rows)
    return summary + "\n\n" + table(["variant", "prompt", "expected", "parsed", "output (start)"], examples) + (
        f"\n\nGreedy decoding, all 6 tool schemas in the system prompt (`cadre.runtime.tools.tool_prompt`), at most "
        f"{max_tokens} new tokens (stopped early once the answer is plain prose). A valid call parses, names a known "
        "tool and has its required arguments. Because of this rate the example project sets "
        "`supports_function_calling: false` for SmolLM2, so the router decides (`tool_calling: auto`).")


def _score_variant(backend, prefix, max_tokens, examples, variant) -> list[str]:
    from cadre.runtime.tools import TOOL_SCHEMAS, check_call, parse_tool_calls

    valid = right = attempted = false_calls = 0
    for prompt, expected in TOOL_PROMPTS + [(p, None) for p in CHAT_PROMPTS]:
        text = _until_decided(backend, prefix, prompt, max_tokens)
        calls, errors = parse_tool_calls(text)
        ok = []
        for call in calls:
            try:
                check_call(call, TOOL_SCHEMAS)
                ok.append(call.name)
            except Exception:  # noqa: BLE001 - an invalid call is what is being counted
                pass
        if expected:
            attempted, valid, right = attempted + bool(calls or errors), valid + bool(ok), right + (expected in ok)
        else:
            false_calls += bool(calls or errors)
        examples.append([variant.split(" (")[0], prompt[:40], expected or "(chat)",
                         ", ".join(ok) or ("invalid" if calls or errors else "no call"),
                         text.strip().replace("\n", " ").replace("|", "/")[:60]])
        print(examples[-1], flush=True)
    n = len(TOOL_PROMPTS)
    return [str(attempted), f"{valid} ({valid / n:.0%})", f"{right} ({right / n:.0%})", str(false_calls)]


def _until_decided(backend, prefix: list[dict], prompt: str, max_tokens: int) -> str:
    """Generate until the answer is clearly prose (no call started in 12 tokens) or done."""
    stream = backend.stream([*prefix, {"role": "user", "content": prompt}], max_tokens=max_tokens)
    text = ""
    for piece in stream:
        text += piece
        start = text.lstrip()[:12]
        if stream.usage.completion_tokens >= 12 and not any(m in text for m in ("<tool", "{", "[")) \
                and not start.startswith("`"):
            break
    return text


SECTIONS = {"load": ("Runtime: loading and memory per specialist", section_load),
            "overhead": ("Runtime: routing overhead inside Engine.generate", section_overhead),
            "storm": ("Runtime: swap storm (1,000 requests, budget holds 2 of 4)", section_storm),
            "toolcalls": ("Runtime: SmolLM2 valid tool-call rate", section_toolcalls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ", ".join(SECTIONS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    for key in args.only.split(","):
        title, fn = SECTIONS[key]
        started = time.perf_counter()
        body = fn()
        load = os.getloadavg()[0]
        body += (f"\n\nSection time {time.perf_counter() - started:.0f} s, torch threads {args.threads}; "
                 f"1-minute load average at the end {load:.1f} on {os.cpu_count()} cores (a shared machine).")
        print(f"\n## {title}\n\n{body}\n", flush=True)
        write_section(title, body, f"{COMMAND} --only {key}")


if __name__ == "__main__":
    main()
