"""Sandbox escapes against the real code judge (bubblewrap): each attack must fail.

Every attack is written as model code plus tests that pass only if the attack worked, so
the judge must score 0.0; where the attack could leave a trace on the host (a file, a
process, a connection) the test also checks that the trace is absent.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from cadre.evaluation import judges, sandbox

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sandbox.detect().kind != "bwrap",
                                reason=f"no sandbox here: {sandbox.detect().detail}")


def attack(code: str, tests: str = "assert ok", timeout: float = 5.0) -> float:
    """Run `code` then `tests` through the code judge, as MBPP pass@1 does."""
    return judges.code(textwrap.dedent(code), tests, timeout=timeout)


def test_control_a_correct_answer_still_passes():
    assert attack("def add(a, b):\n    return a + b", "assert add(2, 3) == 5") == 1.0


def test_cannot_write_outside(tmp_path):
    targets = [tmp_path / "pwned", REPO / f"pwned-{uuid.uuid4().hex}", Path.home() / f"pwned-{uuid.uuid4().hex}",
               Path("/usr/lib") / f"pwned-{uuid.uuid4().hex}"]
    code = f"""
    ok = 0
    for p in {[str(t) for t in targets]!r}:
        try:
            open(p, "w").write("x"); ok += 1
        except OSError:
            pass
    """
    assert attack(code, "assert ok > 0") == 0.0
    assert not any(t.exists() for t in targets)


def test_tmp_is_private():
    """/tmp is writable, but it is the sandbox's own: nothing lands in the host's /tmp."""
    name = f"/tmp/pwned-{uuid.uuid4().hex}"
    assert attack(f"open({name!r}, 'w').write('x')\nimport os\nok = os.path.exists({name!r})") == 1.0
    assert not Path(name).exists()


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/passwd", str(REPO / "cadre" / "__init__.py"),
                                  str(Path.home() / ".bashrc")])
def test_cannot_read_host_files(path):
    code = f"""
    try:
        ok = len(open({path!r}, "rb").read()) > 0
    except OSError:
        ok = False
    """
    assert attack(code) == 0.0


def test_cannot_read_the_callers_api_keys_from_proc():
    """The caller holds a key in its environment; the judged code hunts /proc for it."""
    secret = f"sk-{uuid.uuid4().hex}"
    code = f"""
    import os
    found = []
    for pid in ["self", str(os.getppid()), {str(os.getpid())!r}, "1"] + [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            found.append(open(f"/proc/{{pid}}/environ", "rb").read())
        except OSError:
            pass
    ok = any({secret!r}.encode() in e for e in found) or {secret!r} in str(os.environ)
    """
    caller = ("import sys, json; from cadre.evaluation import judges; "
              "print(judges.code(json.loads(sys.argv[1]), 'assert ok', timeout=5))")
    env = {**os.environ, "OPENAI_API_KEY": secret, "CADRE_API_KEY": secret}
    out = subprocess.run([sys.executable, "-c", caller, __import__("json").dumps(textwrap.dedent(code))],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0.0"


def test_cannot_reach_host_unix_sockets(tmp_path):
    path = tmp_path / "host.sock"
    abstract = f"\0cadre-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX) as on_disk, socket.socket(socket.AF_UNIX) as in_abstract:
        on_disk.bind(str(path)); on_disk.listen(); on_disk.setblocking(False)
        in_abstract.bind(abstract); in_abstract.listen(); in_abstract.setblocking(False)
        code = f"""
        import socket
        ok = 0
        for address in ({str(path)!r}, {abstract!r}, "/run/docker.sock", "/var/run/dbus/system_bus_socket"):
            try:
                s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(address); ok += 1
            except OSError:
                pass
        """
        assert attack(code, "assert ok > 0") == 0.0
        for server in (on_disk, in_abstract):
            with pytest.raises(BlockingIOError):
                server.accept()  # nobody connected


def test_raw_socket_module_cannot_reach_host_tcp():
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        port = server.getsockname()[1]
        code = f"""
        import _socket
        try:
            s = _socket.socket(); s.settimeout(2); s.connect(("127.0.0.1", {port})); ok = True
        except OSError:
            ok = False
        """
        assert attack(code) == 0.0
        with pytest.raises(BlockingIOError):
            server.accept()


def test_fork_bomb_is_capped():
    code = """
    import os, time
    children = 0
    try:
        for _ in range(300):
            if os.fork() == 0:
                time.sleep(3); os._exit(0)
            children += 1
    except OSError:
        pass
    ok = children == 300
    """
    start = time.monotonic()
    assert attack(code) == 0.0
    assert time.monotonic() - start < 10


def _host_processes_with(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def test_setsid_children_die_with_the_judge():
    marker = f"survivor-{uuid.uuid4().hex}"
    code = f"""
    import subprocess, sys
    for _ in range(3):
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # {marker}"],
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = True
    """
    attack(code)
    time.sleep(0.5)
    assert _host_processes_with(marker) == []


def test_holding_stdout_does_not_stretch_the_timeout():
    marker = f"holder-{uuid.uuid4().hex}"
    code = f"""
    import subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # {marker}"], start_new_session=True)
    time.sleep(60)
    """
    start = time.monotonic()
    assert attack(code, "assert True", timeout=2.0) == 0.0
    assert time.monotonic() - start < 6
    time.sleep(0.5)
    assert _host_processes_with(marker) == []


@pytest.mark.parametrize("escape", ["import sys; sys.exit(0)", "import os; os._exit(0)", "raise SystemExit",
                                    "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
                                    "import atexit, os; atexit.register(os._exit, 0); raise SystemExit(1)"])
def test_leaving_before_the_tests_is_no_pass(escape):
    assert attack(f"def add(a, b):\n    return a - b\n{escape}", "assert add(2, 3) == 5") == 0.0


def test_printing_a_fake_success_is_no_pass():
    code = "import sys\nprint('ok'); print('0' * 32); sys.stdout.flush()\nimport os; os._exit(0)"
    assert attack(code, "assert True") == 0.0


def test_memory_and_file_size_are_limited():
    assert attack("x = bytearray(4 * 1024 ** 3)\nok = True") == 0.0
    assert attack("open('/tmp/big', 'wb').write(b'x' * (200 << 20))\nok = True") == 0.0
