"""`cadre serve` serves the dashboard: a real subprocess on a free port, with an API key."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

from cadre.cli.serve import dashboard_on


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_default_is_on_for_loopback_or_with_a_key():
    assert dashboard_on(None, "127.0.0.1", ()) and dashboard_on(None, "0.0.0.0", ("k",))
    assert not dashboard_on(None, "0.0.0.0", ()) and not dashboard_on(False, "127.0.0.1", ())
    assert dashboard_on(True, "0.0.0.0", ())


def test_cadre_serve_serves_the_dashboard_and_guards_its_api(tmp_path, tiny_causal_dir):
    project = tmp_path / "cadre.yaml"
    project.write_text("version: 1\nruntime: {memory_budget: 2GB}\nmodels:\n"
                       f"  - {{name: tiny, path: \"{tiny_causal_dir}\", capabilities: [primary_chat]}}\n")
    port = free_port()
    env = {**os.environ, "CADRE_API_KEY": "cli-key"}
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(project),
                             "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.time() < deadline, "cadre serve did not start"
            time.sleep(0.2)
        page = httpx.get(base + "/ui/models", timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "/ui/static/dashboard.js" in page.text and 'data-key-required="yes"' in page.text
        assert httpx.get(base + "/ui/static/dashboard.js", timeout=30).text.startswith("// cadre dashboard")
        assert httpx.get(base + "/v1/dashboard/models", timeout=30).status_code == 401
        data = httpx.get(base + "/v1/dashboard/models", headers={"Authorization": "Bearer cli-key"}, timeout=30).json()
        assert [m["name"] for m in data["models"]] == ["tiny"] and data["models"][0]["pinned"]
        assert data["memory"]["cpu"]["budget_bytes"] == 2 * 1000**3
    finally:
        proc.terminate()
        proc.wait(30)


def test_serve_help_explains_the_dashboard_options():
    from typer.testing import CliRunner

    from cadre.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for text in ("--ui", "--no-ui", "--runs-dir", "/ui"):
        assert text in result.output
