"""The low-severity findings of issue 23, each through the real path: the feedback 404
names no server path, two runs into one new --output cannot both win, a full disk during
training is one `error:` line with nothing left behind, an over-long request target gets
OpenAI's error JSON, and written folders follow the umask instead of mkdtemp's 0700/0600."""
from __future__ import annotations

import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import _write_router_data

CLI = [sys.executable, "-m", "cadre.cli.main"]


def cadre(*args: str, umask: int = 0o022, fsize: int | None = None, **kw) -> subprocess.CompletedProcess:
    def setup():
        os.umask(umask)
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, preexec_fn=setup, **kw)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), \
        (done.returncode, done.stderr[-3000:])
    return lines[0]


def leftovers(parent: Path, name: str) -> list[str]:
    """Temporary siblings of output `name` (atomic_dir's `.name.*.tmp`, `.name.old`)."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


# ----------------------------------------------------------------------------- feedback 404
def test_feedback_for_an_unknown_id_names_no_server_path(served):
    response = httpx.post(served.base + "/v1/feedback", json={"id": "req-0123456789abcdef01234567", "score": 1, "token": "0" * 32},
                          timeout=30)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_request_id" and error["param"] == "id"
    assert str(served.root) not in error["message"] and "decisions.jsonl" not in error["message"]
    assert "/" not in error["message"], error["message"]


# ----------------------------------------------------------------------------- output reservation
def test_a_second_run_into_the_same_new_output_fails_while_the_first_runs(tmp_path):
    """A (nano) is frozen right after it checked --output; B then targets the same new
    folder. Before the fix B wrote it and exited 0, and A later replaced B's router
    silently; now the output is reserved when checked, so B fails at once."""
    data = _write_router_data(tmp_path / "router.txt")
    out = tmp_path / "nano"
    first = subprocess.Popen([*CLI, "router", "train", "--kind", "nano", "--data", str(data), "--epochs", "1",
                              "--output", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = first.stdout.readline()  # its first progress line comes after the check
        assert line, "the first run printed nothing"
        first.send_signal(signal.SIGSTOP)
        second = cadre("router", "train", "--kind", "keyword", "--output", str(out))
        message = one_error_line(second)
        assert "being written by another cadre run" in message and str(first.pid) in message
    finally:
        first.send_signal(signal.SIGCONT)
    rest, _ = first.communicate(timeout=300)
    assert first.returncode == 0, rest[-2000:]
    meta = json.loads((out / "cadre.json").read_text())
    assert meta.get("router_kind", "nano") == "nano"  # the first run's router, whole
    assert not (out / ".cadre-reserved").exists()
    assert leftovers(tmp_path, "nano") == [], "a temporary folder was left behind"


# ----------------------------------------------------------------------------- full disk
def test_a_file_size_limit_during_training_is_one_error_line(tmp_path):
    """RLIMIT_FSIZE (unprivileged): a write past it fails with EFBIG, as a full disk does
    with ENOSPC. Before the fix: a traceback and exit 1."""
    out = tmp_path / "kw"
    message = one_error_line(cadre("router", "train", "--kind", "keyword", "--output", str(out), fsize=1024))
    assert "out of disk space" in message
    assert not out.exists() and leftovers(tmp_path, "kw") == []


@pytest.mark.slow
def test_a_file_size_limit_while_a_checkpoint_is_saved_is_one_error_line(tmp_path):
    """`cadre train`: the checkpoint's safetensors write hits the limit."""
    data = _write_router_data(tmp_path / "router.txt")
    out = tmp_path / "ckpt"
    message = one_error_line(cadre("train", "--type", "router", "--model-size", "nano", "--epochs", "1",
                                   "--data", str(data), "--output", str(out), "--quiet", fsize=200_000))
    assert "out of disk space" in message
    assert not out.exists() and leftovers(tmp_path, "ckpt") == []


def test_a_full_tmpfs_during_training_is_one_error_line(tmp_path):
    """A real ENOSPC on a 4 KB tmpfs (needs root to mount; skipped otherwise)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        out = mount / "kw"
        message = one_error_line(cadre("router", "train", "--kind", "keyword", "--output", str(out)))
        assert "out of disk space" in message and "No space left" in message
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# ----------------------------------------------------------------------------- long request target
def test_a_request_target_over_64_kb_gets_openai_error_json(served):
    port = int(served.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /v1/models?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"


# ----------------------------------------------------------------------------- umask modes
@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)])
def test_written_folders_follow_the_umask(tmp_path, umask, folder_mode, file_mode):
    out = tmp_path / "kw"
    done = cadre("router", "train", "--kind", "keyword", "--output", str(out), umask=umask)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == folder_mode
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes and set(modes.values()) == {file_mode}, {k: oct(v) for k, v in modes.items()}


@pytest.mark.slow
def test_a_checkpoint_follows_the_umask(tmp_path):
    """safetensors writes its files 0600; a checkpoint folder's files follow the umask."""
    data = _write_router_data(tmp_path / "router.txt")
    out = tmp_path / "ckpt"
    done = cadre("train", "--type", "router", "--model-size", "nano", "--epochs", "1", "--data", str(data),
                 "--output", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in out.rglob("*") if p.is_file()}
    assert set(modes.values()) == {"0o644"}, modes
