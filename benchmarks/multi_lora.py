"""Multi-LoRA serving benchmark: N LoRA adapters on the SmolLM2-135M base served from one
shared copy of it, against N merged copies (the old way), each measured in its own
subprocess through the ModelManager; the adapter swap time; and mixed-batch decoding
against one request at a time. Prints the tables and writes the "Multi-LoRA serving"
section of docs/benchmarks.md.

    python benchmarks/multi_lora.py                 # 12 adapters (rank 8, q/k/v/o, as the catalog trains)
    python benchmarks/multi_lora.py --adapters 4 --tokens 8 --no-write   # a quick look

The adapters are freshly initialised (random B matrices): memory and speed do not depend
on what an adapter learned.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PROMPTS = ["Write SQL to count the users.", "Is 'a wonderful film' positive?", "Name the people: Ada met Alan.",
           "Translate 'good morning' to French.", "Summarise: the meeting moved to Friday.", "Route: my card is lost."]


def make_adapters(root: Path, n: int, rank: int = 8) -> list[Path]:
    """n adapter folders on the real base (cadre.json + PEFT files), as the catalog's LoRA config."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from cadre.checkpoint import write_metadata
    from cadre.pretrained import resolve_base

    base = resolve_base()
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    folders = []
    for i in range(n):
        gen = torch.Generator().manual_seed(i)
        with torch.no_grad():
            for name, tensor in model.named_parameters():
                if "lora_B" in name:
                    tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.05)
        folder = root / f"adapter{i:02d}"
        model.save_pretrained(folder)
        write_metadata(folder, {"type": "lora", "base": "smollm2-135m-instruct", "base_path": base})
        folders.append(folder)
    return folders


# ----------------------------------------------------------------------------- children
def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def manager_for(folders: list[Path], share: bool, max_batch: int = 12):
    from cadre.config import LoraSettings
    from cadre.runtime.manager import ModelManager
    from cadre.runtime.registry import ModelCapability, ModelSpec, Registry

    specs = [ModelSpec(f"a{i:02d}", path=str(f), capabilities=(ModelCapability.PRIMARY_CHAT,))
             for i, f in enumerate(folders)]
    return ModelManager(Registry(specs), memory_budget="20GB", keep_alive=3600,
                        lora=LoraSettings(share_base=share, max_batch=max_batch))


def child_base() -> dict:
    """The base alone, loaded as a plain local model."""
    from cadre.pretrained import resolve_base
    from cadre.runtime.backends.local import LocalBackend
    from cadre.runtime.manager import ModelManager
    from cadre.runtime.registry import ModelCapability, ModelSpec, Registry

    LocalBackend.prepare()
    import peft  # noqa: F401  (counted in the empty process)

    empty = rss()
    manager = ModelManager(Registry([ModelSpec("base", path=resolve_base(), capabilities=(ModelCapability.PRIMARY_CHAT,))]),
                           memory_budget="20GB", keep_alive=3600)
    started = time.perf_counter()
    manager.load("base")
    return {"empty_rss": empty, "rss": rss(), "load_ms": [(time.perf_counter() - started) * 1000]}


def child_merged(folders: list[Path]) -> dict:
    """N adapters, each merged into its own copy of the base (runtime.lora.share_base: false)."""
    from cadre.runtime.backends.local import LocalBackend

    LocalBackend.prepare()
    import peft  # noqa: F401  (counted in the empty process)

    empty = rss()
    manager = manager_for(folders, share=False)
    for name in manager.slots:
        manager.load(name)
    return {"empty_rss": empty, "rss": rss(), "load_ms": [s.last_load_ms for s in manager.slots.values()]}


def child_shared(folders: list[Path], tokens: int, swaps: int) -> dict:
    """N adapters on one base; then adapter swaps; then mixed batches against one at a time."""
    from cadre.runtime.backends.local import LocalBackend

    LocalBackend.prepare()
    import peft  # noqa: F401  (counted in the empty process)

    empty = rss()
    manager = manager_for(folders, share=True)
    names = list(manager.slots)
    for name in names:
        manager.load(name)
    out = {"empty_rss": empty, "rss": rss(), "base": manager.bases_status()[0],
           "adapter_bytes": [manager.slots[n].tensors for n in names]}
    swap_ms = []
    for i in range(swaps):  # detach an adapter from the base and attach it again
        name = names[i % len(names)]
        manager.unload(name)
        started = time.perf_counter()
        manager.load(name)
        swap_ms.append((time.perf_counter() - started) * 1000)
    out["swap_ms"] = swap_ms
    out["throughput"] = throughput(manager, names, tokens)
    manager.close()
    return out


def throughput(manager, names: list[str], tokens: int) -> dict:
    """One request per adapter: decoded one at a time, then all in one mixed batch."""
    from cadre.runtime.backends.lora_host import Row

    host = next(iter(manager.shared.bases.values())).host
    tok = host.tokenizer
    stops = {tok.eos_token_id}  # ignore <|im_end|>: every request decodes `tokens` tokens

    def rows():
        out = []
        for i, name in enumerate(names):
            text = tok.apply_chat_template([{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                                           tokenize=False, add_generation_prompt=True)
            out.append(Row(name, tok.encode(text, add_special_tokens=False), tokens, stops))
        return out

    def timed(fn):
        cpu0, wall0 = _cpu(), time.perf_counter()
        produced = fn()
        return {"tokens": produced, "wall_s": time.perf_counter() - wall0, "cpu_s": _cpu() - cpu0}

    one = timed(lambda: sum(len(list(host.submit(row))) for row in rows()))
    batches = host.batches
    mixed = timed(lambda: sum(len(list(t)) for t in host.submit_all(rows())))
    mixed["batches"] = host.batches - batches
    return {"requests": len(names), "one_at_a_time": one, "mixed_batch": mixed}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ----------------------------------------------------------------------------- parent
def run_child(mode: str, root: Path, args) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--root", str(root), "--adapters", str(args.adapters),
           "--tokens", str(args.tokens), "--swaps", str(args.swaps)]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child {mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(base: dict, shared: dict, merged: dict, n: int, load: tuple, tokens: int) -> str:
    from _report import table

    def mb(n: float) -> str:
        return f"{n / 1e6:.0f} MB"

    p50 = statistics.median
    memory = table(["setup", "process RSS", "over the empty process", "× the base's RSS", "load p50"], [
        ["the base alone (plain local model)", mb(base["rss"]), mb(base["rss"] - base["empty_rss"]), "1.00",
         f"{p50(base['load_ms']):.0f} ms"],
        [f"{n} adapters on one shared base", mb(shared["rss"]), mb(shared["rss"] - shared["empty_rss"]),
         f"{shared['rss'] / base['rss']:.2f}", f"{p50(shared['swap_ms']):.0f} ms (adapter swap)"],
        [f"{n} merged copies (share_base: false)", mb(merged["rss"]), mb(merged["rss"] - merged["empty_rss"]),
         f"{merged['rss'] / base['rss']:.2f}", f"{p50(merged['load_ms']):.0f} ms (base + merge)"],
    ])
    t = shared["throughput"]
    speed = table(["decoding", "requests", "tokens", "wall s", "tokens/s", "CPU s", "batches"], [
        ["one at a time", t["requests"], t["one_at_a_time"]["tokens"], t["one_at_a_time"]["wall_s"],
         t["one_at_a_time"]["tokens"] / t["one_at_a_time"]["wall_s"], t["one_at_a_time"]["cpu_s"], t["requests"]],
        ["one mixed batch", t["requests"], t["mixed_batch"]["tokens"], t["mixed_batch"]["wall_s"],
         t["mixed_batch"]["tokens"] / t["mixed_batch"]["wall_s"], t["mixed_batch"]["cpu_s"], t["mixed_batch"]["batches"]],
    ])
    sizes = shared["adapter_bytes"]
    swaps = shared["swap_ms"]
    notes = (f"Each adapter: {statistics.mean(sizes) / 1e6:.2f} MB of LoRA tensors (rank 8 on q/k/v/o, the "
             f"catalog's default); the shared base: {shared['base']['tensor_bytes'] / 1e6:.0f} MB of tensors, "
             f"loaded once. Adapter swap (detach, then attach to the loaded base): p50 {p50(swaps):.0f} ms, "
             f"max {max(swaps):.0f} ms over {len(swaps)} swaps. Throughput: one request per adapter, each decoding "
             f"up to {tokens} tokens, greedy (a request ends early at its end-of-text token); the mixed batch runs "
             f"all {t['requests']} adapters in one forward pass per token (PEFT `adapter_names`). Load average (1, 5, 15 min) at the end: "
             f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} on a machine shared with other work, so the timings "
             f"are indicative; the memory figures do not depend on load.")
    return f"{memory}\n\n{speed}\n\n{notes}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapters", type=int, default=12)
    parser.add_argument("--tokens", type=int, default=16, help="tokens each request decodes in the throughput runs")
    parser.add_argument("--swaps", type=int, default=24)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--child", choices=["base", "shared", "merged"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import torch

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        folders = sorted(Path(args.root).glob("adapter*"))
        result = {"base": child_base, "merged": lambda: child_merged(folders),
                  "shared": lambda: child_shared(folders, args.tokens, args.swaps)}[args.child]()
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="multi-lora-") as tmp:
        make_adapters(Path(tmp), args.adapters)
        results = {mode: run_child(mode, Path(tmp), args) for mode in ("base", "shared", "merged")}
    load = os.getloadavg()
    body = report(results["base"], results["shared"], results["merged"], args.adapters, load, args.tokens)
    print(body)
    ratio = results["shared"]["rss"] / results["base"]["rss"]
    print(f"{args.adapters} adapters on one base: {ratio:.2f}× the base's RSS (goal < 1.3×): "
          f"{'met' if ratio < 1.3 else 'MISSED'}")
    if not args.no_write:
        from _report import write_section

        write_section("Multi-LoRA serving", body, f"python benchmarks/multi_lora.py --adapters {args.adapters} "
                      f"--tokens {args.tokens} --swaps {args.swaps}")


if __name__ == "__main__":
    main()
