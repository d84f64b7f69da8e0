"""`cadre serve` command, CORS, header encoding and stop sequences (no live server)."""
from __future__ import annotations

from typer.testing import CliRunner

from cadre.cli.main import app
from cadre.server.generation import route_headers
from cadre.server.settings import ServerSettings, api_keys_from
from cadre.server.streaming import StopFilter, apply_stops


def test_serve_help_lists_the_safety_options():
    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--config", "--host", "--port", "--api-key", "CADRE_API_KEY", "--cors-origin",
                   "--max-request-bytes", "--queue-size", "--memory-budget"):
        assert option in result.output


def test_serve_with_a_missing_config_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "project file not found" in result.output
    assert "Traceback" not in result.output


def test_queue_size_overrides_the_projects_waiting_room(tmp_path):
    from cadre.cli.serve import build_engine

    path = tmp_path / "cadre.yaml"
    path.write_text("version: 1\nruntime: {max_queue: 32}\nmodels:\n"
                    "  - {name: smollm2, path: smollm2-135m-instruct, capabilities: [primary_chat]}\n")
    engine = build_engine(path, 3)
    try:
        assert engine.manager.max_queue == 3 and engine.config.runtime.max_queue == 3
    finally:
        engine.close()


def test_memory_budget_flag_overrides_the_project_and_bad_sizes_are_one_line(tmp_path):
    from cadre.cli.serve import build_engine

    path = tmp_path / "cadre.yaml"
    path.write_text("version: 1\nruntime: {memory_budget: 4GB}\nmodels:\n"
                    "  - {name: smollm2, path: smollm2-135m-instruct, capabilities: [primary_chat]}\n")
    engine = build_engine(path, None, "800MB")
    try:
        assert engine.manager.budget("cpu") == 800 * 1000**2
    finally:
        engine.close()
    result = CliRunner().invoke(app, ["serve", "--config", str(path), "--memory-budget", "2 parsecs"])
    assert result.exit_code == 2 and "--memory-budget '2 parsecs'" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_api_keys_come_from_the_flag_or_the_environment():
    assert api_keys_from("a", {"CADRE_API_KEY": "b"}) == ("a",)
    assert api_keys_from(None, {"CADRE_API_KEY": "b, c"}) == ("b", "c")
    assert api_keys_from(None, {}) == ()


def test_cors_is_off_by_default_and_on_for_named_origins(serve_engine):
    from fastapi.testclient import TestClient

    from cadre.server.app import create_app

    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    closed = TestClient(create_app(serve_engine, ServerSettings(api_keys=("k",))), base_url="http://localhost")
    assert "access-control-allow-origin" not in closed.options("/v1/chat/completions", headers=preflight).headers
    opened = TestClient(create_app(serve_engine, ServerSettings(api_keys=("k",),
                                                                cors_origins=("https://app.example",))),
                        base_url="http://localhost")
    answer = opened.options("/v1/chat/completions", headers=preflight)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "https://app.example"
    other = opened.options("/v1/chat/completions", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_route_header_is_latin1_safe():
    header = route_headers("nano code 0.96 ≥ 0.60 → generate_code (日本)\r\nx")["x-cadre-route"]
    assert header.isascii() and header.encode("latin-1")
    assert header.startswith("nano code 0.96 >= 0.60 -> generate_code (%E6%97%A5%E6%9C%AC)")
    assert "\r" not in header and "\n" not in header


def test_stop_sequences_are_cut_even_across_pieces():
    f = StopFilter(["END"])
    out = [f.feed(p) for p in ["hello E", "N", "D tail"]]
    assert "".join(out) == "hello " and f.stopped
    assert apply_stops("a, b, c", [","]) == ("a", True)
    assert apply_stops("abc", ["x"]) == ("abc", False)
