"""Screenshots of every dashboard view for docs/dashboard.md, from a real server.

    python scripts/dashboard_screenshots.py [--runs DIR] [--out docs] [--team runs/demo | --budget 40]

1. uses the demo's nano router and code specialist from `--team` (what `make demo`
   trained into runs/demo), or trains them into a scratch folder (the `make demo` recipe,
   cut to `--budget` seconds each), and writes a project with SmolLM2 as the pinned primary;
2. serves it on a free loopback port (`create_app`, as `cadre serve` does), scanning
   `--runs` for specialist reports and learned routers;
3. sends a few real requests through the official openai client, loads the code
   specialist with the Module Manager's API, routes and answers a prompt in the
   playground, and saves one PNG per view with Debian's chromium (Playwright).
"""
from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIEWS = ("models", "traffic", "playground", "routers", "specialists")
ANSWERED = ["Hello! Who are you?", "Write a Python function to reverse a string.", "What is 12 times 7?"]
ROUTED = ["Summarize this: the meeting moved to Friday at noon.", "Translate into French: good morning",
          "Draw a picture of a red fox", "Tell me a joke about cats.", "Solve the equation 2x + 3 = 9"]


def train_team(work: Path, budget_s: float) -> Path:
    """The demo's router and code specialist, trained for `budget_s` seconds each."""
    from cadre import demo

    demo.OUT, demo.DATA = work / "demo", ROOT / "data" / "specialized"
    tokenizer = demo.train_tokenizer(demo.OUT)
    for stage in demo.STAGES:
        if stage.type in ("router", "code"):
            demo.train_stage(stage, tokenizer, budget_s)
    return demo.OUT


def write_project(work: Path, team: Path) -> Path:
    path = work / "cadre.yaml"
    path.write_text(f"""\
version: 1
runtime: {{memory_budget: 2GB, keep_alive: 300}}
router: {{model: router}}
models:
  - {{name: smollm2, path: smollm2-135m-instruct, memory_mb: 600,
     capabilities: [primary_chat, summarization, translation, prompt_enhancement], cost_per_1k_tokens: 0.0002}}
  - {{name: router, backend: onnx, path: "{team / 'router'}", capabilities: [intent_classification],
     memory_mb: 12, priority: 100}}
  - {{name: code, path: "{team / 'code'}", capabilities: [code_generation], memory_mb: 80, priority: 100,
     cost_per_1k_tokens: 0.0001}}
  - {{name: qwen-3b, path: Qwen/Qwen2.5-3B-Instruct, memory_mb: 6500, capabilities: [math],
     cost_per_1k_tokens: 0.002}}
""")
    return path


def serve(project: Path, runs: list[str]):
    """uvicorn on a free loopback port in a thread; returns (base URL, server, engine)."""
    import uvicorn

    from cadre.runtime.engine import Engine
    from cadre.server.app import create_app
    from cadre.server.settings import ServerSettings

    engine = Engine.from_config_file(project)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(engine, ServerSettings(runs_dirs=tuple(runs))),
                                           host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, engine


def traffic(base: str) -> None:
    """Real requests through the official client, so the Traffic view has rows."""
    import httpx
    import openai

    client = openai.OpenAI(base_url=base + "/v1", api_key="none", max_retries=0, timeout=900)
    for prompt in ANSWERED:
        client.chat.completions.create(model="auto", max_tokens=12,
                                       messages=[{"role": "user", "content": prompt}])
    for prompt in ROUTED:  # decisions only (cheap on a busy machine)
        httpx.post(base + "/v1/route", json={"input": prompt}, timeout=300)
    httpx.post(base + "/v1/models/qwen-3b/load", timeout=60)  # refused: over the budget


def shoot(base: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = next(p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and Path(p).exists())
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.set_default_timeout(300_000)  # a busy machine
        page.goto(base + "/ui/models")
        for name in ("code", "qwen-3b"):  # the second is refused: the error bar shows why
            with page.expect_response(lambda r, n=name: r.url.endswith(f"/v1/models/{n}/load")):
                page.locator(f'tr[data-model="{name}"] button.load').click()
        page.locator("#error").wait_for(state="visible")
        for view in VIEWS:
            if view != "models":
                page.goto(f"{base}/ui/{view}")
            if view == "playground":
                page.fill("#prompt", "Write a Python function to check if a number is prime.")
                page.fill("#max-tokens", "24")
                page.click("#route-btn")
                page.wait_for_function("document.querySelector('#answer').textContent.length > 10",
                                       timeout=600_000)
            page.wait_for_timeout(2500)  # one poll, so the numbers are fresh
            shots.append(out / f"dashboard_{view}.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", action="append", default=[], help="runs folder to scan (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "docs"), help="where the PNG files go")
    parser.add_argument("--team", help="folder holding trained router/ and code/ (e.g. runs/demo)")
    parser.add_argument("--budget", type=float, default=40.0, help="training seconds per specialist")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        team = Path(args.team).resolve() if args.team else train_team(work, args.budget)
        project = write_project(work, team)
        base, server, engine = serve(project, args.runs or [str(ROOT / "runs")])
        try:
            traffic(base)
            for path in shoot(base, Path(args.out)):
                print(path)
        finally:
            server.should_exit = True
            engine.close()


if __name__ == "__main__":
    main()
