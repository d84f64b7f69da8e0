"""YAML alias bombs ("billion laughs") against every YAML file cadre reads: the project
file (`cadre models list`, `cadre serve`), a routes YAML, a specialist recipe and a
SkyPilot task. Each must give a one-line error, exit 2, within a second or two and
without growing memory. Before the fix a 600-byte cadre.yaml ran past 60 s at 2.7 GB."""
from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cadre.errors import CadreError

MEMORY_LIMIT = 1536 * 1024 * 1024  # address space: torch and friends need ~1 GB of it
SECONDS = 20  # the cap on a run; a loaded machine starts python in seconds, a bomb takes minutes


def bomb(levels: int = 9, width: int = 9) -> str:
    """Nested anchors: each level lists the previous one `width` times (9**9 leaves)."""
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def project_bomb() -> str:
    """A cadre.yaml whose models list and routes carry the bomb (the line index of a
    config error walked it, and so did validation)."""
    return bomb() + "version: 1\nmodels: *a9\nroutes: {chat: {tool: *a9}}\n"


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cadre(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cadre.cli.main", *args], capture_output=True, text=True,
                          timeout=SECONDS, preexec_fn=_limit_memory)
    return done, time.perf_counter() - started


def assert_one_line_error(done: subprocess.CompletedProcess, path: Path) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}") and "alias" in lines[0], done.stderr[-2000:]


@pytest.mark.parametrize("command", [["models", "list"], ["serve", "--port", "0"], ["models", "ask", "hello"]])
def test_a_project_file_bomb_is_one_line_error(tmp_path, command):
    path = tmp_path / "cadre.yaml"
    path.write_text(project_bomb())
    assert path.stat().st_size < 700  # the 600-byte file
    done, _ = run_cadre(*command, "--config", str(path))
    assert_one_line_error(done, path)


def test_a_routes_yaml_bomb_is_one_line_error(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(bomb() + "routes: *a9\n")
    done, _ = run_cadre("router", "train", "--kind", "keyword", "--rules", str(path), "--output",
                        str(tmp_path / "out"))
    assert_one_line_error(done, path)
    assert not (tmp_path / "out").exists()


def test_a_fleet_task_bomb_is_one_line_error(tmp_path):
    """The SkyPilot task reader (`cadre fleet launch`) and the specialist recipe reader."""
    from cadre.fleet.sky import read_config
    from cadre.training.lora.catalog import load_spec_file

    path = tmp_path / "task.yaml"
    path.write_text(bomb() + "resources: *a9\nrun: *a9\n")
    for reader in (read_config, load_spec_file):
        started = time.perf_counter()
        with pytest.raises(CadreError, match="alias") as caught:
            reader(path)
        assert time.perf_counter() - started < 1.0
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_recursive_anchor_is_one_line_error(tmp_path):
    path = tmp_path / "cadre.yaml"
    path.write_text("version: 1\nmodels: &m [*m]\n")
    done, _ = run_cadre("models", "list", "--config", str(path))
    assert_one_line_error(done, path)


def test_plain_anchors_still_work(tmp_path):
    """A config that shares a few settings through anchors and merge keys still loads."""
    from cadre.config import load_config

    path = tmp_path / "cadre.yaml"
    path.write_text("version: 1\nx-caps: &caps [primary_chat]\nmodels:\n"
                    "  - {name: a, path: a-model, capabilities: *caps}\n"
                    "  - {name: b, path: b-model, capabilities: *caps}\n")
    with pytest.raises(CadreError):
        load_config(path)  # x-caps is not a field: the error still names its line
    path.write_text("version: 1\nmodels:\n  - &a {name: a, path: a-model, capabilities: [primary_chat]}\n"
                    "  - {<<: *a, name: b}\n")
    config = load_config(path)
    assert [m.name for m in config.models] == ["a", "b"]
