"""The gateway end to end on RouterBench: one stub upstream per RouterBench model, a learned
router fitted on the train split, `cadre serve` in front, the test split driven through
the official openai client.

Each stub answers "correct" or "wrong" as that model did in the table, and reports usage
whose tokens × the registry price ($0.001 per 1k tokens) equal the recorded cost, so the
x-cadre-cost header is the table's cost. Three runs:

1. live replay: accuracy, mean cost per query and each model's share, against GPT-4 alone
   and `cadre router eval-learned` offline on the same split (they must agree within 0.005);
2. failover: the same replay with the most-chosen upstream killed a third of the way in,
   and the second most-chosen answering 500 from half-way to two-thirds: client failures,
   fallbacks and cool-downs;
3. feedback: the train split's second half replayed, its outcomes sent to /v1/feedback,
   then `cadre router retrain`: the gate's decision and before/after test accuracy.

    python benchmarks/gateway.py [--limit N] [--workers 4]
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._report import table, write_section  # noqa: E402
from cadre.data.routing_adapters import convert  # noqa: E402
from cadre.data.routing_tables import read_routing_table, write_routing_table  # noqa: E402

DATA = Path(os.environ.get("CADRE_SHARED", "/work/shared")) / "datasets" / "routing_routerbench_subset" / \
    "routerbench_0shot_arc_mbpp_winogrande.jsonl.gz"
PRICE_PER_TOKEN = 1e-6  # $0.001 per 1k tokens
GPT4 = "gpt-4-1106-preview"


def _stub_module():
    spec = importlib.util.spec_from_file_location("stub_upstream", ROOT / "tests/gateway/stub_upstream.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def answerer(model: str, rows: list[dict]):
    """What the stub for `model` says to a prompt: correct or wrong as recorded, tokens = cost."""
    book = {_h(r["prompt"]): (r["model_scores"].get(model), (r.get("model_costs") or {}).get(model))
            for r in rows if isinstance(r["prompt"], str)}

    def answer(prompt: str):
        score, cost = book.get(_h(prompt), (0, 0.0))
        tokens = max(2, round((cost or 0.0) / PRICE_PER_TOKEN))
        return ("correct" if score and score >= 0.5 else "wrong"), tokens - 1, 1
    return answer


def project(stubs: dict, router_dir: Path, log: Path) -> str:
    lines = ["version: 1", "router: {model: picker}",
             f"gateway: {{allowed_fails: 3, fail_window_s: 30, cooldown_s: 20, decision_log: '{log}', "
             f"log_prompts: true}}", "runtime: {max_concurrent: 8, max_queue: 64}", "models:"]
    for i, (model, stub) in enumerate(stubs.items()):
        caps = "[primary_chat]"
        lines.append(f"  - {{name: '{model}', backend: openai, url: '{stub.url}', capabilities: {caps}, "
                     f"priority: {60 if model == GPT4 else 10}, cost_per_1k_tokens: {PRICE_PER_TOKEN * 1000}, "
                     f"options: {{retries: 0, timeout_s: 5, connect_timeout_s: 1}}}}")
    lines.append(f"  - {{name: picker, path: '{router_dir}', capabilities: [intent_classification]}}")
    return "\n".join(lines) + "\n"


def serve(config: Path):
    """`cadre serve` on a free port; returns (process, base URL)."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config),
                             "--port", str(port), "--log-level", "warning"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("cadre serve did not start")


def replay(base: str, rows: list[dict], workers: int, events=None) -> list[dict]:
    """Drive rows through the server with the openai client; one result per row, in order."""
    import openai

    client = openai.OpenAI(base_url=f"{base}/v1", api_key="none", max_retries=0, timeout=60)

    def one(i_row):
        i, row = i_row
        if events:
            events(i)
        try:
            raw = client.chat.completions.with_raw_response.create(
                model="auto", max_tokens=4, messages=[{"role": "user", "content": row["prompt"]}])
            answer = raw.parse()
            return {"ok": True, "model": answer.model, "correct": answer.choices[0].message.content == "correct",
                    "cost": float(raw.headers["x-cadre-cost"]), "id": raw.headers.get("x-cadre-request-id"),
                    "token": raw.headers.get("x-cadre-feedback-token"),
                    "route": raw.headers.get("x-cadre-route", "")}
        except openai.APIError as exc:
            return {"ok": False, "error": str(exc)[:200]}
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, enumerate(rows)))


def summary(results: list[dict]) -> dict:
    ok = [r for r in results if r["ok"]]
    shares = {}
    for r in ok:
        shares[r["model"]] = shares.get(r["model"], 0) + 1
    return {"accuracy": sum(r["correct"] for r in ok) / max(len(ok), 1),
            "cost": sum(r["cost"] for r in ok) / max(len(ok), 1), "failed": len(results) - len(ok),
            "shares": {m: n / max(len(ok), 1) for m, n in sorted(shares.items(), key=lambda kv: -kv[1])}}


def cli(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "cadre.cli.main", *args, "--json"], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode not in (0, 1):
        raise SystemExit(out.stderr)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="Use only the first N test rows.")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--router", type=Path, default=None,
                        help="Reuse a router already fitted by `fit-learned` (defaults) on this train split.")
    args = parser.parse_args()
    started, load0 = time.time(), os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="cadre-gateway-bench-"))
    rows = list(convert(DATA, "routerbench"))
    train = [r for r in rows if r["routerdc_split"] == "train"]
    test = [r for r in rows if r["routerdc_split"] != "train"]
    write_routing_table(train, work / "train.jsonl")
    models = read_routing_table(work / "train.jsonl").models
    test = [r for r in test if isinstance(r["prompt"], str)
            and all(r["model_scores"].get(m) is not None for m in models)][: args.limit]
    write_routing_table(test, work / "test.jsonl")
    print(f"train {len(train)} rows, test {len(test)} complete rows, {len(models)} models", flush=True)
    if args.router:
        import shutil

        shutil.copytree(args.router, work / "router")
        fit = json.loads((work / "router" / "cadre.json").read_text())
    else:
        fit = cli("router", "fit-learned", "--data", str(work / "train.jsonl"), "--output", str(work / "router"))
    offline = cli("router", "eval-learned", str(work / "router"), "--data", str(work / "test.jsonl"))
    stub = _stub_module()
    stubs = {m: stub.StubUpstream(m, answerer(m, train + test)) for m in models}
    log = work / "decisions.jsonl"
    (work / "cadre.yaml").write_text(project(stubs, work / "router", log))
    proc, base = serve(work / "cadre.yaml")
    try:
        t0 = time.time()
        live = summary(replay(base, test, args.workers))
        live_s = time.time() - t0
        order = list(live["shares"])
        killed, flaky = order[0], order[1] if len(order) > 1 else order[0]
        n = len(test)

        def faults(i):
            if i == n // 3 and stubs[killed].server is not None:
                stubs[killed].stop()
            if i == n // 2:
                stubs[flaky].mode = "500"
            if i == 2 * n // 3:
                stubs[flaky].mode = "ok"
        before = len(open(log).readlines())
        failover = summary(replay(base, test, args.workers, faults))
        records = [json.loads(x) for x in open(log).readlines()[before:] if x.strip()]
        fallbacks = sum(len(r.get("fallbacks") or []) for r in records)
        cooldowns = sum(1 for r in records for f in r.get("fallbacks") or [] if f.get("cooled_down"))
        stubs[killed].start()
        second_half = [r for r in train[len(train) // 2:] if isinstance(r["prompt"], str)][: args.limit]
        fed = replay(base, second_half, args.workers)
        import httpx

        sent = 0
        for row, r in zip(second_half, fed):
            if r["ok"] and r["id"]:
                score = row["model_scores"].get(r["model"])
                if score is not None:
                    sent += httpx.post(f"{base}/v1/feedback", json={"id": r["id"], "token": r["token"], "score": score}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
        for s in stubs.values():
            s.stop()
    retrained = cli("router", "retrain", "--log", str(log), "--table", str(work / "train.jsonl"),
                    "--current", str(work / "router"), "--output", str(work / "router2"), "--force")
    after = cli("router", "eval-learned", str(work / "router2"), "--data", str(work / "test.jsonl"))
    from cadre.runtime.gateway.retrain import accuracy_at
    after_at_cost = accuracy_at(after["curve"], offline["mean_cost"])
    gpt4 = offline["single_models"][GPT4]
    op = fit["operating_point"]
    load1 = os.getloadavg()
    body = "\n\n".join([
        f"Train {len(train)} rows, test {len(test)} complete rows, {len(models)} stub upstreams, "
        f"{args.workers} client threads. Load average {load0[0]:.1f} → {load1[0]:.1f} on "
        f"{os.cpu_count()} cores. Total {time.time() - started:.0f} s; live replay {live_s:.0f} s.",
        f"Default operating point (fit report): val accuracy {op['val_accuracy']:.4f} at ${op['val_cost']:.5f}, "
        f"saving {op['saving_vs_best']:.0%} against {op['best_single_model']['model']} "
        f"(val {op['best_single_model']['val_accuracy']:.4f} at ${op['best_single_model']['val_cost']:.5f}).",
        table(["run", "accuracy", "mean $ / query", "failed requests"], [
            ["GPT-4 alone (table)", gpt4["accuracy"], gpt4["cost"], "-"],
            ["offline `eval-learned`", offline["accuracy"], offline["mean_cost"], "-"],
            ["live through `cadre serve`", live["accuracy"], live["cost"], live["failed"]],
            [f"live, {killed} killed at 1/3, {flaky} 500 from 1/2 to 2/3", failover["accuracy"],
             failover["cost"], failover["failed"]]]),
        f"Live − offline accuracy: {live['accuracy'] - offline['accuracy']:+.4f} (must be within ±0.005). "
        f"Failover run: {fallbacks} fallbacks, {cooldowns} cool-downs started.",
        "Share of each model (live): " + ", ".join(f"{m} {s:.1%}" for m, s in live["shares"].items()),
        f"Feedback: {sent} outcomes of the train split's second half sent to /v1/feedback; "
        f"`cadre router retrain` gate: **{'promoted' if retrained['gate']['promoted'] else 'not promoted'}** "
        f"({retrained['gate']['reason']}). On test, before: {offline['accuracy']:.4f} at ${offline['mean_cost']:.5f}; "
        f"after (forced write, its own default point): {after['accuracy']:.4f} at ${after['mean_cost']:.5f}; "
        f"after at the before cost: {after_at_cost:.4f}.",
    ])
    print(body)
    cmd = "python benchmarks/gateway.py" + (f" --limit {args.limit}" if args.limit else "") + (
        " --router DIR" if args.router else "")
    write_section("Gateway: live RouterBench replay, failover, feedback", body, cmd)


if __name__ == "__main__":
    main()
