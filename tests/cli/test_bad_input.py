"""Every bad input of issue 13 sections 4 (silent data loss) and 5 (tracebacks, silent
successes) through the real `cadre` command in a subprocess.

Each case gets its own folder; the case must exit 2 with exactly one `error:` line on
stderr, no traceback, and leave every file in its folder as it was (nothing written,
renamed or deleted). The subprocesses run a few at a time, so the whole set costs about
as much as the slowest few.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

QA = "\n\n".join(f"Q: {verb} {thing} {i}\nA: [E:tool]{label}" for i in range(6)
                 for label, verb in (("image", "draw"), ("chat", "hello")) for thing in ("a dog", "the sea")) + "\n"
NON_UTF8 = b"version: 1\nname: caf\xe9\n"


def _data(d: Path) -> Path:
    (d / "router.txt").write_text(QA)
    return d / "router.txt"


def _folder_with_file(d: Path, name: str = "out") -> Path:
    (d / name).mkdir()
    (d / name / "keep.txt").write_text("precious")
    return d / name


def _checkpoint(d: Path, src: Path, name: str = "ck") -> Path:
    shutil.copytree(src, d / name)
    return d / name


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _project(d: Path, primary: str, router: Path, extra: str = "") -> Path:
    (d / "cadre.yaml").write_text(f"version: 1\nmodels:\n  - name: chat\n    backend: local\n    path: {primary}\n"
                                  f"    capabilities: [primary_chat]\n{extra}  - name: router\n    backend: local\n"
                                  f"    path: {router}\n    capabilities: [intent_classification]\n")
    return d / "cadre.yaml"


# name -> (build(folder, checkpoint) -> argv after `cadre`, substring of the error)
def _train(d, *extra):
    return ["train", "--type", "router", "--data", _data(d), "--quiet", *extra]


CASES = {
    # section 4: an existing --output is never replaced silently
    "train-output-foreign-folder": (lambda d, ck: _train(d, "--output", _folder_with_file(d), "--epochs", "1"),
                                    "already exists (a folder that is not cadre's)"),
    "train-output-file": (lambda d, ck: (_train(d, "--output", d / "router.txt", "--epochs", "1")),
                          "is an existing file"),
    "train-output-cadre-checkpoint": (lambda d, ck: _train(d, "--output", _checkpoint(d, ck), "--epochs", "1"),
                                      "already exists (a cadre router folder)"),
    "router-train-output-folder": (lambda d, ck: ["router", "train", "--kind", "keyword", "--output",
                                                  _folder_with_file(d)], "pass --overwrite"),
    "router-train-output-file": (lambda d, ck: ["router", "train", "--kind", "keyword", "--output",
                                                _data(d)], "is an existing file"),
    "fit-learned-output-folder": (lambda d, ck: ["router", "fit-learned", "--data", d / "table.jsonl", "--output",
                                                 _folder_with_file(d)], "pass --overwrite"),
    "fit-learned-over-other-router": (lambda d, ck: ["router", "fit-learned", "--data", d / "table.jsonl",
                                                     "--output", _checkpoint(d, ck)], "a cadre router folder"),
    "specialist-run-output-folder": (lambda d, ck: ["specialist", "run", "sentiment", "--local-test", "--output",
                                                    _folder_with_file(d)], "pass --overwrite"),
    # section 5: numbers
    "train-batch-size-0": (lambda d, ck: _train(d, "--batch-size", "0", "--output", d / "new"), "--batch-size"),
    "train-lr-nan": (lambda d, ck: _train(d, "--lr", "nan", "--output", d / "new"), "--lr"),
    "train-epochs-0": (lambda d, ck: _train(d, "--epochs", "0", "--output", d / "new"), "--epochs"),
    "train-epochs-negative": (lambda d, ck: _train(d, "--epochs", "-3", "--output", d / "new"), "--epochs"),
    # section 5: damaged checkpoints
    "train-init-from-corrupt-tokenizer": (
        lambda d, ck: (_checkpoint(d, ck).joinpath("tokenizer.json").write_bytes(b"\xff\xfe{not json"),
                       _train(d, "--init-from", d / "ck", "--epochs", "1", "--output", d / "new"))[1],
        "corrupt tokenizer"),
    "train-resume-corrupt-state": (
        lambda d, ck: (_checkpoint(d, ck).joinpath("trainer_state.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff"),
                       ["train", "--type", "router", "--resume", d / "ck"])[1], "corrupt trainer state"),
    "train-resume-future-state": (
        lambda d, ck: (_edit_json(_checkpoint(d, ck) / "trainer_state.json", config={
            **json.loads((ck / "trainer_state.json").read_text())["config"], "warp_drive": 9}),
                       ["train", "--type", "router", "--resume", d / "ck"])[1], "newer cadre"),
    "train-resume-state-wrong-types": (
        lambda d, ck: (_edit_json(_checkpoint(d, ck) / "trainer_state.json", epoch="3"),
                       ["train", "--type", "router", "--resume", d / "ck"])[1], "corrupt trainer state"),
    "eval-empty-labels": (lambda d, ck: (_edit_json(_checkpoint(d, ck) / "cadre.json", labels=[]),
                                         ["eval", d / "ck", "--data", _data(d)])[1], "labels"),
    "eval-limit-negative": (lambda d, ck: ["eval", _checkpoint(d, ck), "--data", _data(d), "--limit", "-1"],
                            "--limit"),
    # section 5: non-UTF-8 and binary configs
    "models-list-non-utf8": (lambda d, ck: ((d / "cadre.yaml").write_bytes(NON_UTF8),
                                            ["models", "list", "--config", d / "cadre.yaml"])[1], "not valid UTF-8"),
    "models-list-binary": (lambda d, ck: ((d / "cadre.yaml").write_bytes(b"\x00\x01\x02ELF\x7f"),
                                          ["models", "list", "--config", d / "cadre.yaml"])[1], "binary"),
    "serve-non-utf8": (lambda d, ck: ((d / "cadre.yaml").write_bytes(NON_UTF8),
                                      ["serve", "--config", d / "cadre.yaml", "--port", "0"])[1], "not valid UTF-8"),
    "specialist-run-non-utf8": (lambda d, ck: ((d / "spec.yaml").write_bytes(b"name: caf\xe9\ntask: x\n"),
                                               ["specialist", "run", d / "spec.yaml"])[1], "not valid UTF-8"),
    # section 5: models list --check
    "models-list-check-missing-path": (lambda d, ck: ["models", "list", "--check", "--config",
                                                      _project(d, str(d / "no-such-model"), _checkpoint(d, ck))],
                                       "1 of 2 models have a problem: chat"),
    "models-list-check-budget-below-primary": (
        lambda d, ck: ["models", "list", "--check", "--memory-budget", "100MB", "--config",
                       _project(d, str(_checkpoint(d, ck)), d / "ck", "    memory_mb: 500\n")],
        "1 of 2 models have a problem: chat"),
}


def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under folder with a hash of its content (folders as 'dir')."""
    out = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _run(argv: list, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CADRE_CONFIG": ""}
    return subprocess.run([sys.executable, "-m", "cadre.cli.main", *map(str, argv)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def results(tmp_path_factory, tiny_router_dir):
    """Build every case's folder, snapshot it, run all cases (4 at a time), snapshot again."""
    jobs = {}
    for name, (build, _) in CASES.items():
        folder = tmp_path_factory.mktemp(name)
        argv = build(folder, Path(tiny_router_dir))
        jobs[name] = (folder, argv, _snapshot(folder))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, argv, folder) for name, (folder, argv, _) in jobs.items()}
        return {name: (futures[name].result(), before, _snapshot(folder))
                for name, (folder, _, before) in jobs.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_exit_2_one_error_line_and_changes_nothing(results, case):
    proc, before, after = results[case]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-1500:])
    assert len(errors) == 1, proc.stderr
    assert CASES[case][1] in errors[0], errors[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert after == before, "files were written, changed or deleted"
