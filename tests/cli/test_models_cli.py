import json

from typer.testing import CliRunner

from cadre.cli.main import app

runner = CliRunner()


def write_project(tmp_path, causal_dir):
    text = f"""
models:
  - name: primary
    path: {causal_dir}
    capabilities: [primary_chat]
  - name: ghost
    path: {tmp_path}/no/such/model
    capabilities: [code_generation]
    memory_mb: 25
"""
    path = tmp_path / "cadre.yaml"
    path.write_text(text)
    return path


def test_models_list_shows_status_and_memory(tmp_path, tiny_causal_dir):
    path = write_project(tmp_path, tiny_causal_dir)
    result = runner.invoke(app, ["models", "list", "--config", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:6] == ["NAME", "BACKEND", "DEVICE", "STATUS", "ESTIMATED", "MEASURED"]
    assert "not loaded" in lines[1] and "25.0 MB" in lines[2] and "missing" in lines[2]
    assert "ghost: missing:" in result.output and "model path not found" in result.output


def test_models_list_measure_json(tmp_path, tiny_causal_dir):
    path = write_project(tmp_path, tiny_causal_dir)
    result = runner.invoke(app, ["models", "list", "--config", str(path), "--measure", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in map(json.loads, result.output.splitlines())}
    assert rows["primary"]["measured_bytes"] is not None and rows["primary"]["loads"] == 1
    assert rows["ghost"]["measured_bytes"] is None and rows["ghost"]["state"].startswith("missing")


def test_models_ask_prints_route_reason_and_latency(tmp_path, tiny_causal_dir):
    path = write_project(tmp_path, tiny_causal_dir)
    result = runner.invoke(app, ["models", "ask", "what is 6 times 7", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "model:   tool:solve_math" in result.output and "= 42" in result.output and "latency:" in result.output


def test_bad_project_and_budget_are_one_line_errors(tmp_path, tiny_causal_dir):
    path = write_project(tmp_path, tiny_causal_dir)
    result = runner.invoke(app, ["models", "list", "--config", str(path), "--memory-budget", "1kB"])
    assert result.exit_code == 2 and "smaller than the smallest model" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: []\n")
    result = runner.invoke(app, ["models", "list", "--config", str(bad)])
    assert result.exit_code == 2 and "bad.yaml:1: models:" in result.output


def test_models_list_shows_lora_adapters_under_their_shared_base(tmp_path, tiny_causal_dir, smollm2_adapters):
    path = tmp_path / "cadre.yaml"
    path.write_text(f"""
models:
  - {{name: primary, path: "{tiny_causal_dir}", capabilities: [primary_chat]}}
  - {{name: sql, path: "{smollm2_adapters['sql']}", capabilities: [code_generation]}}
  - {{name: ner, path: "{smollm2_adapters['ner']}", capabilities: [summarization]}}
""")
    result = runner.invoke(app, ["models", "list", "--config", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("primary ")
    assert lines[2].startswith("base smollm2-135m") and "shared by 2 adapters" in lines[2]
    assert lines[3].startswith("  ↳ sql ") and lines[4].startswith("  ↳ ner ")
    assert "622.8 MB" in lines[2] and "1.0 MB" in lines[3]  # the base's estimate once; each adapter its own
    rows = {r["name"]: r for r in map(json.loads, runner.invoke(
        app, ["models", "list", "--config", str(path), "--json"]).output.splitlines())}
    assert rows["sql"]["base"] == rows["ner"]["base"] and rows["primary"]["base"] is None
    assert rows["sql"]["estimated_bytes"] < 5e6


def test_bad_lora_settings_are_a_one_line_error(tmp_path, tiny_causal_dir):
    path = tmp_path / "cadre.yaml"
    path.write_text(f"runtime: {{lora: {{max_batch: 0}}}}\nmodels:\n"
                    f"  - {{name: primary, path: \"{tiny_causal_dir}\", capabilities: [primary_chat]}}\n")
    result = runner.invoke(app, ["models", "list", "--config", str(path)])
    assert result.exit_code == 2 and "runtime.lora.max_batch" in result.output
    assert "Traceback" not in result.output


def test_plan_says_how_to_make_a_missing_lora_adapter(tmp_path, tiny_causal_dir):
    """A specialist's adapter is made by `cadre specialist run`, not `cadre train`."""
    path = write_project(tmp_path, tiny_causal_dir)
    path.write_text(path.read_text() + f"""\
  - name: sql
    backend: local
    path: {tmp_path}/no/adapter
    capabilities: [specialist]
""")
    result = runner.invoke(app, ["models", "plan", "--config", str(path), "--budget", "2GB"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.strip().startswith("- sql"))
    assert "cadre specialist run sql" in line and "runs/specialists/sql/adapter" in line
    assert "cadre train" not in line
