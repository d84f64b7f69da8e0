"""The policies behind the server's answers, checked directly (fast, no server)."""
from __future__ import annotations

import base64
import os

import pytest

from cadre.runtime.image_input import (
    REFUSED,
    REFUSED_OUTSIDE,
    ImageRejected,
    LocalImages,
    looks_like_path,
)
from cadre.server.redact import backend_message, redact
from cadre.server.toolschema import schema_problem, tool_choice_problem
from tests.security.test_dos import png_bomb


def test_local_images_read_only_under_the_allowed_folder(tmp_path):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside.png"
    allowed.mkdir()
    (allowed / "small.png").write_bytes(png_bomb(64))
    outside.write_bytes(png_bomb(64))
    os.symlink(outside, allowed / "link.png")
    policy = LocalImages(allowed)
    assert policy.prepare("small.png") == png_bomb(64)
    assert policy.prepare(str(allowed / "small.png")) == png_bomb(64)
    for name in (str(outside), "link.png", "../outside.png", "missing.png", f"file://{outside}"):
        with pytest.raises(ImageRejected) as err:
            policy.prepare(name)
        assert str(err.value) == REFUSED_OUTSIDE
    with pytest.raises(ImageRejected, match="does not read image paths"):
        LocalImages(None).prepare(str(allowed / "small.png"))
    assert str(REFUSED) != str(REFUSED_OUTSIDE)


def test_feature_lists_are_text_and_base64_is_an_image():
    policy = LocalImages(None)
    assert policy.prepare("cat, sleeping, couch") == "cat, sleeping, couch"
    assert not looks_like_path("cat, sleeping, couch") and looks_like_path("photos/cat.jpg")
    data = png_bomb(2000)
    assert len(base64.b64encode(data)) > 200 and policy.prepare(base64.b64encode(data).decode()) == data
    assert policy.prepare("data:image/png;base64," + base64.b64encode(data).decode()) == data


def test_redaction_keeps_the_reason_readable():
    text = ("router r unavailable (model 'r': /srv/m/model.onnx: cannot open ONNX model "
            "([ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model from /srv/m/model.onnx failed)) "
            "→ keyword math 1.00 ≥ 0.60; <_io.BytesIO object at 0x7f00deadbeef>; http://10.0.0.2:8000/v1")
    clean = redact(text)
    for secret in ("/srv", "ONNXRuntime", "0x7f", "10.0.0.2"):
        assert secret not in clean
    assert "router r unavailable" in clean and "keyword math 1.00 ≥ 0.60" in clean
    assert redact("d/dx x**2 = 2*x, 1/2") == "d/dx x**2 = 2*x, 1/2"
    assert backend_message("model 'ghost': cannot load /x/y (OSError)") == (
        "model 'ghost' failed to answer; the server log has the details")


def test_tool_schema_and_tool_choice_rules():
    assert schema_problem({"type": "object", "properties": {"a": {"type": "string"}}}) is None
    assert schema_problem({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, True]}}}) is None
    assert "object" in schema_problem({"type": "string"})
    assert schema_problem({"type": "object", "properties": {"a": {"type": "text"}}})
    assert schema_problem({"type": "object", "required": [1]})
    assert tool_choice_problem("required", []) and tool_choice_problem("auto", []) is None
    assert tool_choice_problem({"type": "function", "function": {"name": "f"}}, ["f"]) is None
    assert "'g'" in tool_choice_problem({"type": "function", "function": {"name": "g"}}, ["f"])


def test_serve_help_explains_the_limits():
    from typer.testing import CliRunner

    from cadre.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--header-timeout", "--body-timeout", "--max-connections", "--allow-local-images"):
        assert option in result.output
