"""The server never reads its own disk because of a request, and never tells a client
its paths, object addresses or library internals."""
from __future__ import annotations

import base64
import os
import re

import httpx
import pytest

from tests.security.test_dos import png_bomb

LEAKS = re.compile(r"/tmp/|/etc/|/home/|/root/|site-packages|ONNXRuntime|INVALID_PROTOBUF|0x[0-9a-f]{6,}|"
                   r"Traceback|missing-model|badonnx/", re.IGNORECASE)


def with_image(url: str) -> dict:
    return {"model": "auto", "max_tokens": 4, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "describe this"}, {"type": "image_url", "image_url": {"url": url}}]}]}


def post(base: str, body: dict, path: str = "/v1/chat/completions", **kw) -> httpx.Response:
    return httpx.post(base + path, json=body, timeout=60, **kw)


def assert_no_leak(response: httpx.Response) -> None:
    exposed = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    assert not LEAKS.search(exposed), exposed[:400]


def test_image_paths_outside_the_allowed_folder_are_one_identical_400(served):
    allowed = served.root / "allowed"
    (allowed / "ok.png").write_bytes(png_bomb(5000))
    os.symlink("/etc/hostname", allowed / "escape.png")
    urls = ["/etc/passwd", "/etc/does-not-exist.png", "file:///etc/passwd", "file:///nope/x.png",
            "../../etc/passwd", str(served.root / "cadre.yaml"), "escape.png", "missing.png",
            "~/.bashrc", "C:\\Windows\\win.ini"]
    answers = []
    for url in urls:
        response = post(served.base, with_image(url))
        assert response.status_code == 400, (url, response.text)
        assert_no_leak(response)
        answers.append(response.json()["error"]["message"])
    assert len(set(answers)) == 1, answers
    assert "data URL" in answers[0]
    # a file under the allowed folder is read (and then bounded: this one is a bomb)
    inside = post(served.base, with_image("ok.png"))
    assert inside.status_code == 400 and "5000 x 5000 pixels" in inside.json()["error"]["message"]


def test_paths_in_text_sent_to_the_vision_route_are_the_same_400(served):
    answers = set()
    for path in ("/etc/passwd.png", "/nonexistent/cat.jpg", "file:///etc/x.png"):
        response = post(served.base, {"model": "auto", "max_tokens": 4, "messages": [
            {"role": "user", "content": f"[E:vision] describe the picture {path}"}]})
        assert response.status_code == 400, response.text
        assert_no_leak(response)
        answers.add(response.json()["error"]["message"])
    assert len(answers) == 1


def test_default_server_reads_no_image_path_at_all(live, tmp_path):
    from tests.security.test_dos import png_bomb as bomb

    real = tmp_path / "real.png"
    real.write_bytes(bomb(300))
    answers = set()
    for url in (str(real), str(tmp_path / "missing.png"), f"file://{real}"):
        response = post(live.base, with_image(url), headers={"Authorization": "Bearer test-key"})
        assert response.status_code == 400, response.text
        answers.add(response.json()["error"]["message"])
    assert len(answers) == 1 and "does not read image paths" in answers.pop()


@pytest.mark.parametrize("url", ["data:text/plain;base64,aGVsbG8=", "data:image/png;base64,!!!notbase64",
                                 "data:image/png;base64," + base64.b64encode(b"not a png").decode()])
def test_malformed_data_urls_are_400(served, url):
    response = post(served.base, with_image(url))
    assert response.status_code == 400, response.text
    assert_no_leak(response)


def test_failing_models_are_named_without_their_paths_or_runtime_errors(served):
    ghost = post(served.base, {"model": "ghost", "messages": [{"role": "user", "content": "hi"}]})
    assert ghost.status_code == 503 and "'ghost'" in ghost.json()["error"]["message"]
    assert_no_leak(ghost)
    onnx = post(served.base, {"model": "badonnx", "messages": [{"role": "user", "content": "hi"}]})
    assert onnx.status_code == 502 and "'badonnx'" in onnx.json()["error"]["message"]
    assert_no_leak(onnx)
    assert "ONNXRuntimeError" in served.server_log() or "ONNX" in served.server_log()  # the log keeps it


def test_route_reasons_and_headers_carry_no_paths_or_internals(served):
    routed = post(served.base, {"input": "hello there"}, path="/v1/route")
    assert routed.status_code == 200
    assert "badonnx unavailable" in routed.json()["reason"]  # the failure is still told
    assert_no_leak(routed)
    answered = post(served.base, {"model": "auto", "messages": [{"role": "user", "content": "2+2"}]})
    assert answered.status_code == 200 and "x-cadre-route" in answered.headers
    assert_no_leak(answered)
