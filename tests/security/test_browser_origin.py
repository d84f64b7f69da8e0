"""Web pages must not drive the default keyless server (issue 23, item 2).

A real `cadre serve` (loopback, no key, dashboard on, and a `--cors-origin` that is not
the attacker's) and a page on another origin: a second HTTP server on another port, opened
in Debian's chromium through Playwright. The page tries the "simple" requests a browser
sends without a preflight (text/plain and bodyless `no-cors` fetches, a form POST) to
unload and load models, run a chat and post feedback, and frames /ui. Each attack leaves
the server as it was. A DNS-rebinding page reaches the server under a foreign Host name;
real DNS cannot be faked here, so that request comes from a direct client with the Host
header the browser would send. `--workers 2` is checked the same way.
"""
from __future__ import annotations

import http.server
import json
import threading
import time

import httpx
import pytest

from tests.security.serve_proc import CadreServe, tiny_project
from tests.server.dashboard.conftest import browser  # noqa: F401  (the fixture)

ALLOWED_ORIGIN = "https://app.example"
CHAT = {"model": "primary", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 2}


@pytest.fixture(scope="module")
def target(tmp_path_factory, tiny_causal_dir, tiny_router_dir):
    root = tmp_path_factory.mktemp("origin")
    server = CadreServe(tiny_project(root, tiny_causal_dir, tiny_router_dir), "--cors-origin", ALLOWED_ORIGIN)
    yield server
    server.stop()


class AttackerSite:
    """The attacker's page, served from another origin (another port; `localhost` rather
    than the target's 127.0.0.1, so it is another site as well)."""

    def __init__(self, html: str):
        body = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def model_state(target, name: str) -> str:
    rows = httpx.get(target.base + "/v1/dashboard/models", timeout=30).json()["models"]
    return next(r["state"] for r in rows if r["name"] == name)


def engine_requests(target) -> int:
    return httpx.get(target.base + "/v1/dashboard/traffic", timeout=30).json()["engine"]["requests"]


def feedback_lines(target) -> int:
    log = target.root / "runs" / "gateway" / "decisions.jsonl"
    return sum('"type": "feedback"' in line or '"type":"feedback"' in line for line in log.read_text().splitlines())


def attack_page(base: str, feedback: dict) -> str:
    """Every simple cross-origin write a page can make, then a form POST into a frame."""
    chat = json.dumps(CHAT)
    return f"""<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="form" method="POST" action="{base}/v1/models/spare/unload" enctype="text/plain" target="sink">
<input name='{{"x":"' value='"}}'></form>
<script>
const T = {json.dumps(base)};
async function go(path, init) {{
  try {{ await fetch(T + path, Object.assign({{method: "POST", mode: "no-cors"}}, init)); return "sent"; }}
  catch (e) {{ return "error " + e; }}
}}
window.attack = async () => [
  await go("/v1/models/spare/unload", {{headers: {{"Content-Type": "text/plain"}}, body: "{{}}"}}),
  await go("/v1/models/spare/unload", {{}}),
  await go("/v1/models/extra/load", {{body: "x"}}),
  await go("/v1/chat/completions", {{headers: {{"Content-Type": "text/plain"}}, body: {json.dumps(chat)}}}),
  await go("/v1/feedback", {{headers: {{"Content-Type": "text/plain"}}, body: {json.dumps(json.dumps(feedback))}}}),
  await go("/v1/route", {{headers: {{"Content-Type": "text/plain"}}, body: '{{"input": "hi"}}'}}),
];
</script></body></html>"""


def test_a_page_on_another_origin_cannot_unload_load_chat_or_post_feedback(target, browser):  # noqa: F811
    answered = target.post("/v1/chat/completions", {**CHAT, "model": "auto"})
    assert answered.status_code == 200, answered.text
    feedback = {"id": answered.headers["x-cadre-request-id"], "score": 0}
    if "x-cadre-feedback-token" in answered.headers:  # the page even holds the caller's token
        feedback["token"] = answered.headers["x-cadre-feedback-token"]
    assert target.post("/v1/models/spare/load", None).status_code == 200  # a bodyless same-machine client
    before = {"spare": model_state(target, "spare"), "extra": model_state(target, "extra"),
              "requests": engine_requests(target), "feedback": feedback_lines(target)}
    assert (before["spare"], before["extra"]) == ("loaded", "unloaded")

    site = AttackerSite(attack_page(target.base, feedback))
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(site.url)
        assert page.evaluate("window.attack()") == ["sent"] * 6  # the browser sent them all
        with page.expect_event("framenavigated", timeout=20_000):
            page.evaluate("document.getElementById('form').submit()")
        time.sleep(1.0)  # anything the server would do with them is done by now
    finally:
        context.close()
        site.stop()
    after = {"spare": model_state(target, "spare"), "extra": model_state(target, "extra"),
             "requests": engine_requests(target), "feedback": feedback_lines(target)}
    assert after == before


def test_the_same_requests_from_a_page_of_the_server_itself_still_work(target, browser):  # noqa: F811
    """The dashboard's own page (same origin) loads and unloads with bodyless POSTs."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(target.base + "/ui/models")
        status = page.evaluate("""async () => [
            (await fetch('/v1/models/spare/unload', {method: 'POST'})).status,
            (await fetch('/v1/route', {method: 'POST', headers: {'content-type': 'application/json'},
                                       body: JSON.stringify({input: 'hi'})})).status]""")
    finally:
        context.close()
    assert status == [200, 200]
    assert model_state(target, "spare") == "unloaded"


def test_the_dashboard_refuses_to_be_framed(target, browser):  # noqa: F811
    site = AttackerSite(f'<!doctype html><iframe id="f" src="{target.base}/ui/models"></iframe>')
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(site.url)
        page.wait_for_function("document.getElementById('f') && performance.getEntriesByType('resource')"
                               ".some(e => e.name.includes('/ui/models'))", timeout=20_000)
        time.sleep(1.0)
        framed = [f for f in page.frames if f != page.main_frame]
        assert framed, "the iframe has no frame"
        loaded = [f.url for f in framed if f.url.startswith(target.base)]
        # Chromium replaces a frame it refuses with its error page (chrome-error://chromewebdata/).
        assert loaded == [], loaded
    finally:
        context.close()
        site.stop()
    response = httpx.get(target.base + "/ui/models", timeout=30)
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


REBIND_PATHS = ["/v1/dashboard/traffic", "/v1/dashboard/models", "/metrics", "/v1/models", "/ui/models"]


@pytest.mark.parametrize("path", REBIND_PATHS)
def test_a_dns_rebinding_host_is_refused(target, path):
    for host in ("attacker.example", f"attacker.example:{target.port}", "127.0.0.1.nip.io"):
        refused = httpx.get(target.base + path, headers={"Host": host}, timeout=30)
        assert refused.status_code == 403, (host, refused.text[:200])
        assert refused.json()["error"]["code"] == "host_not_allowed"
    for host in (f"localhost:{target.port}", f"127.0.0.1:{target.port}", "[::1]"):
        assert httpx.get(target.base + path, headers={"Host": host}, timeout=30).status_code == 200, host


def test_the_raw_route_path_and_the_json_rule_hold_for_direct_clients(target):
    foreign = httpx.post(target.base + "/v1/route", json={"input": "hi"}, headers={"Host": "evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "host_not_allowed"
    for headers in ({"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"},
                    {"Content-Type": "multipart/form-data; boundary=x"}, {}):
        for path in ("/v1/route", "/v1/chat/completions", "/v1/feedback", "/v1/models/spare/load"):
            r = httpx.post(target.base + path, content=b'{"input": "hi"}', headers=headers, timeout=30)
            assert r.status_code == 415, (path, headers, r.text[:200])
            assert r.json()["error"]["code"] == "unsupported_media_type"
    # A browser that sends no Sec-Fetch-Site is judged by its Origin.
    evil = httpx.post(target.base + "/v1/route", json={"input": "hi"}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and evil.json()["error"]["code"] == "cross_origin_refused"
    cross = httpx.post(target.base + "/v1/models/spare/unload", headers={"Sec-Fetch-Site": "same-site"})
    assert cross.status_code == 403
    allowed = httpx.post(target.base + "/v1/route", json={"input": "hi"}, headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.status_code == 200 and allowed.json()["route"]
    typed = httpx.post(target.base + "/v1/route", content=b'{"input": "hi"}',
                       headers={"Content-Type": "application/vnd.api+json; charset=utf-8"})
    assert typed.status_code == 200


@pytest.mark.slow
def test_workers_mode_and_allowed_host(tmp_path, tiny_causal_dir, tiny_router_dir):
    server = CadreServe(tiny_project(tmp_path, tiny_causal_dir, tiny_router_dir), "--workers", "2",
                        "--allowed-host", "cadre.internal")
    try:
        for _ in range(6):  # several connections, so both workers answer some
            with httpx.Client(base_url=server.base, timeout=30) as client:
                assert client.get("/v1/models", headers={"Host": "evil.example"}).status_code == 403
                assert client.get("/v1/models", headers={"Host": "cadre.internal:80"}).status_code == 200
                plain = client.post("/v1/route", content=b'{"input": "hi"}', headers={"Content-Type": "text/plain"})
                assert plain.status_code == 415
                page = client.get("/ui/models")
                assert page.headers["x-frame-options"] == "DENY"
    finally:
        server.stop()


def test_a_bad_allowed_host_is_one_error_line(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "cadre.cli.main", "serve", "--allowed-host", "http://x/"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --allowed-host 'http://x/' is not a host name (write it like example.com, .example.com or *)"]
