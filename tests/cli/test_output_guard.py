"""--output is replaced only with --overwrite: the refusal keeps the folder, --overwrite
replaces it cleanly (no hidden .old left behind), and atomic_dir never renames a file aside."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cadre.errors import CadreError
from cadre.fsutil import atomic_dir
from cadre.outputs import cadre_kind, claim_output


def cadre(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, args)], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)


def test_router_train_refuses_then_overwrites(tmp_path):
    out = tmp_path / "kw"
    first = cadre("router", "train", "--kind", "keyword", "--output", out, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert cadre_kind(out) == "router:keyword"
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    again = cadre("router", "train", "--kind", "keyword", "--output", out, cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.startswith("error: --output") and "--overwrite" in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    (out / "mine.txt").write_text("mine")
    forced = cadre("router", "train", "--kind", "keyword", "--output", out, "--overwrite", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert not (out / "mine.txt").exists() and cadre_kind(out) == "router:keyword"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no .kw.old, no temp folder


def test_claim_rules(tmp_path):
    claim_output(tmp_path / "new")                     # missing: fine
    (tmp_path / "empty").mkdir()
    claim_output(tmp_path / "empty")                   # empty folder: nothing to lose
    run = tmp_path / "run"
    run.mkdir()
    (run / "cadre.json").write_text('{"type": "code"}')
    with pytest.raises(CadreError, match="a cadre code folder"):
        claim_output(run, ("code",))
    claim_output(run, ("code",), resume=True)          # resuming its own kind
    with pytest.raises(CadreError, match="a cadre code folder"):
        claim_output(run, ("router",), resume=True)    # another kind is not resumed over


def test_atomic_dir_never_renames_a_file_aside(tmp_path):
    target = tmp_path / "model"
    target.write_text("a file the user keeps")
    with pytest.raises(CadreError, match="existing file"):
        with atomic_dir(target) as tmp:
            (tmp / "x").write_text("new")
    assert target.read_text() == "a file the user keeps"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    claim_output(target, overwrite=True)
    with atomic_dir(target) as tmp:
        (tmp / "x").write_text("new")
    assert (target / "x").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
