"""`cadre serve` as a subprocess in front of a stub upstream, for the proxy and LangChain tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

KEY = "proxy-key"


def project(url: str, extra_models: str = "", options: str = "", settings: str = "") -> str:
    """One upstream model, the primary; routing falls back to the keyword rules (no router model)."""
    return f"""\
version: 1
{settings}models:
  - {{name: stub-gpt, backend: openai, url: "{url}", capabilities: [primary_chat],
     options: {{retries: 0{options}}}}}
{extra_models}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def cadre_serve(root: Path, upstream_url: str, extra_models: str = "", options: str = "", settings: str = ""):
    """`cadre serve` on a free port, its project pointing at the upstream; yields the base URL."""
    (root / "cadre.yaml").write_text(project(upstream_url, extra_models, options, settings))
    port = free_port()
    log = open(root / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(root / "cadre.yaml"),
                             "--port", str(port), "--api-key", KEY], stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ), cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise RuntimeError(f"cadre serve did not start: {log.read()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
