"""`cadre fleet launch` and the shipped SkyPilot tasks, offline: SkyPilot's own parser, no
credentials, no API server, no cloud. HOME is a temporary folder so ~/.sky stays clean."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "configs" / "fleet").glob("sky-*.yaml"))


@pytest.fixture(scope="module", autouse=True)
def sky_home(tmp_path_factory):
    """SkyPilot writes ~/.sky (state databases) on import: keep it in a temporary HOME,
    and point the SDK at a closed port so no test can reach or start an API server."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    mp.setenv("SKYPILOT_API_SERVER_ENDPOINT", "http://127.0.0.1:9")
    mp.setenv("SKYPILOT_DISABLE_USAGE_COLLECTION", "1")
    yield
    mp.undo()


def cadre(*args: str):
    from cadre.cli.main import app

    return CliRunner().invoke(app, ["fleet", "launch", *args], terminal_width=200)


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.output.rstrip("\n").endswith(errors[0]), result.output
    return errors[0]


def test_three_tasks_ship():
    assert [p.name for p in SHIPPED] == ["sky-8xa100.yaml", "sky-a10g-7b.yaml", "sky-t4-pilot.yaml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_task_parses_with_skypilots_own_parser(path):
    import sky

    task = sky.Task.from_yaml(str(path))
    (res,) = task.resources
    assert res.use_spot and res.job_recovery["strategy"] == "EAGER_NEXT_REGION"
    assert set(res.accelerators) <= {"T4", "A10G", "A100"}
    assert "/data/datasets" in task.file_mounts
    outputs = task.storage_mounts["/outputs"]
    assert outputs.mode.value == "MOUNT_CACHED" and outputs.name
    assert "cadre fleet run --all --output /outputs/fleet" in task.run
    assert 'pip install -q -e ".[fleet]"' in task.setup


def test_dry_run_prints_the_resources_and_writes_a_task_that_parses(tmp_path):
    out = tmp_path / "task.yaml"
    result = cadre("--cloud-config", str(ROOT / "configs/fleet/sky-t4-pilot.yaml"), "sentiment",
                   "--dry-run", "--output", str(out))
    assert result.exit_code == 0, result.output
    text = result.output
    assert "accelerators T4x1" in text and "spot yes (recovery EAGER_NEXT_REGION)" in text
    assert "cloud AWS" in text and "disk 100 GB" in text
    assert "/outputs <- bucket cadre-fleet-outputs-edit-me (MOUNT_CACHED)" in text
    assert "cadre fleet run sentiment --output /outputs/fleet" in text
    assert "nothing launched" in text

    import sky

    task = sky.Task.from_yaml(str(out))
    assert task.run.splitlines() == ["conda activate cadre", "cadre fleet run sentiment --output /outputs/fleet"]
    assert task.setup == sky.Task.from_yaml(str(SHIPPED[-1])).setup


def test_spec_names_replace_the_fleet_line_and_keep_its_options(tmp_path):
    task = tmp_path / "in.yaml"
    task.write_text("resources: {accelerators: T4:1}\n"
                    "run: |\n  echo hi\n  cadre fleet run --all --local-test --output /mnt/out\n")
    out = tmp_path / "out.yaml"
    result = cadre("--cloud-config", str(task), "sentiment", "math", "--dry-run", "--output", str(out))
    assert result.exit_code == 0, result.output
    run = yaml.safe_load(out.read_text())["run"]
    assert run == "echo hi\ncadre fleet run sentiment math --local-test --output /mnt/out\n"


def test_no_specs_keeps_the_yaml_run(tmp_path):
    out = tmp_path / "out.yaml"
    result = cadre("--cloud-config", str(SHIPPED[0]), "--dry-run", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(SHIPPED[0].read_text())


@pytest.mark.parametrize("bad, expect", [
    ({"resources": {"accelerators": "T4:1", "use_spott": True}}, "did you mean 'use_spot'"),
    ({"nmae": "x"}, "did you mean 'name'"),
    ({"resources": {"disk_size": "big"}}, "$.disk_size"),
    ({"file_mounts": {"/o": {"name": "b", "mode": "MOUNTED"}}}, "'MOUNTED' is not one of"),
    ({"name": "bad name!"}, "Invalid task name"),
])
def test_a_bad_task_is_one_line_naming_the_file_and_nothing_is_written(tmp_path, bad, expect):
    task = tmp_path / "bad.yaml"
    task.write_text(yaml.safe_dump({"run": "echo", **bad}))
    out = tmp_path / "out.yaml"
    line = one_error_line(cadre("--cloud-config", str(task), "--dry-run", "--output", str(out)))
    assert str(task) in line and expect in line
    assert not out.exists()


def test_an_unknown_spec_is_one_line_listing_the_valid_ones(tmp_path):
    out = tmp_path / "out.yaml"
    line = one_error_line(cadre("--cloud-config", str(SHIPPED[-1]), "sentimnet", "--dry-run", "--output", str(out)))
    assert "unknown specialist 'sentimnet'" in line and "sentiment" in line and "math" in line
    assert not out.exists()


def test_a_missing_file_is_one_line(tmp_path):
    line = one_error_line(cadre("--cloud-config", str(tmp_path / "nope.yaml"), "--dry-run"))
    assert "nope.yaml: no such file" in line


def test_invalid_yaml_is_one_line(tmp_path):
    task = tmp_path / "bad.yaml"
    task.write_text("resources: [unclosed\n")
    assert "invalid YAML" in one_error_line(cadre("--cloud-config", str(task), "--dry-run"))


def test_launching_without_an_api_server_is_one_line_and_starts_nothing(tmp_path):
    task = tmp_path / "t.yaml"
    task.write_text("name: t\nresources: {accelerators: T4:1}\nrun: echo hi\n")
    line = one_error_line(cadre("--cloud-config", str(task), "--output", str(tmp_path / "out.yaml")))
    assert "no usable SkyPilot API server at http://127.0.0.1:9" in line


def test_a_missing_local_mount_fails_before_launch(tmp_path):
    task = tmp_path / "t.yaml"
    task.write_text(f"resources: {{accelerators: T4:1}}\nfile_mounts: {{/data: {tmp_path / 'absent'}}}\nrun: echo\n")
    line = one_error_line(cadre("--cloud-config", str(task), "--cluster", "c", "--output", str(tmp_path / "o.yaml")))
    assert "sky launch failed" in line and "absent" in line


def test_sky_is_imported_lazily():
    import subprocess

    code = "import cadre.cli.main, sys; print('sky' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
