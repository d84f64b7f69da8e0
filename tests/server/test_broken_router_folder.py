"""A router folder whose cadre.json is missing or corrupt is a one-line error when the
project is served, never a router advertised as `router-nano-…` (its kind used to be read
as nano whenever cadre.json could not be read). A folder not trained yet is still listed."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cadre.config import load_config
from cadre.errors import CadreError
from cadre.runtime.engine import Engine

LEGACY_ROUTER = Path(__file__).resolve().parents[1] / "fixtures" / "legacy" / "nano_router"


def project(root: Path, router: Path) -> Path:
    path = root / "cadre.yaml"
    path.write_text("version: 1\nrouter: {model: router}\nmodels:\n"
                    "  - {name: smollm2, path: smollm2-135m-instruct, capabilities: [primary_chat]}\n"
                    f"  - {{name: router, backend: onnx, path: '{router}', capabilities: [intent_classification]}}\n")
    return path


def broken_router(root: Path, how: str) -> Path:
    folder = root / "router"
    shutil.copytree(LEGACY_ROUTER, folder)
    meta = folder / "cadre.json"
    if how == "corrupt":
        meta.write_text(meta.read_text()[:40])  # cut off mid-object, as a crash mid-write would
    else:
        meta.unlink()
    return folder


def serve(config: Path, timeout: float = 90) -> tuple[int | None, str, list[str]]:
    """Run `cadre serve`; (exit code, output, /v1/models ids if it came up instead)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "cadre.cli.main", "serve", "--config", str(config),
                             "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    try:
        return proc.wait(timeout), proc.stdout.read(), []
    except subprocess.TimeoutExpired:  # it served: say what it advertised
        ids = [m["id"] for m in httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10).json()["data"]]
        return None, "", ids
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


@pytest.mark.parametrize("how,message", [("corrupt", "cadre.json: corrupt metadata"),
                                         ("missing", "not a cadre model folder (no cadre.json)")])
def test_cadre_serve_refuses_a_broken_router_folder_in_one_line(tmp_path, how, message):
    folder = broken_router(tmp_path, how)
    code, output, advertised = serve(project(tmp_path, folder))
    assert code == 2, f"cadre serve ran and advertised {advertised}"
    lines = output.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("error: ") and message in lines[0], output
    assert str(folder) in lines[0] and "Traceback" not in output


def test_a_healthy_or_untrained_router_folder_is_still_listed(tmp_path):
    shutil.copytree(LEGACY_ROUTER, tmp_path / "router")
    engine = Engine(load_config(project(tmp_path, tmp_path / "router")))
    try:
        assert "router-nano-0.5" in engine.router_names()
    finally:
        engine.close()
    engine = Engine(load_config(project(tmp_path, tmp_path / "not-trained-yet")))
    try:  # `make demo` lists its router before training it; loading it later falls to keywords
        assert "router-nano-0.5" in engine.router_names()
    finally:
        engine.close()


def test_the_engine_names_the_broken_file(tmp_path):
    folder = broken_router(tmp_path, "corrupt")
    with pytest.raises(CadreError, match=r"router/cadre.json: corrupt metadata"):
        Engine(load_config(project(tmp_path, folder)))
