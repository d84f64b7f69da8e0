"""The dashboard's JSON API over real HTTP: the Module Manager's admin endpoints, traffic,
routers and specialists, and the API key."""
from __future__ import annotations

import httpx


def post(server, path, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(server.base + path, headers=headers, timeout=120)


def row(server, name, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = httpx.get(server.base + "/v1/dashboard/models", headers=headers, timeout=60).json()
    return next(r for r in data["models"] if r["name"] == name), data


def test_load_then_unload_changes_state_and_memory(dash):
    post(dash, "/v1/models/code/unload")
    before, data = row(dash, "code")
    assert before["state"] == "unloaded" and before["charged_bytes"] == 0
    used_before = data["memory"]["cpu"]["used_bytes"]
    loaded = post(dash, "/v1/models/code/load")
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["state"] == "loaded" and loaded.json()["loads"] == before["loads"] + 1
    after, data = row(dash, "code")
    assert after["measured_bytes"] is not None and after["keep_alive_left_s"] > 0
    assert data["memory"]["cpu"]["used_bytes"] == used_before + after["charged_bytes"] > used_before
    gone = post(dash, "/v1/models/code/unload")
    assert gone.status_code == 200 and gone.json()["state"] == "unloaded"
    assert row(dash, "code")[1]["memory"]["cpu"]["used_bytes"] == used_before


def test_over_budget_load_is_the_managers_one_line_error(dash):
    r = post(dash, "/v1/models/big/load")
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "'big' needs ~50.0 GB" in message and "budget is 3.0 GB" in message and "\n" not in message
    assert row(dash, "big")[0]["state"] == "unloaded"


def test_pinned_primary_and_unknown_models_are_refused(dash):
    r = post(dash, "/v1/models/primary/unload")
    assert r.status_code == 409 and r.json()["error"]["code"] == "model_pinned"
    assert "pinned primary" in r.json()["error"]["message"]
    primary = row(dash, "primary")[0]
    assert primary["primary"] and primary["unload_blocked"].startswith("the pinned primary")
    missing = post(dash, "/v1/models/nope/load")
    assert missing.status_code == 404 and "models: primary, router, code, big" in missing.json()["error"]["message"]


def test_admin_endpoints_need_the_key_when_one_is_set(dash_keyed, dash_key):
    for path in ("/v1/models/code/load", "/v1/models/code/unload"):
        r = post(dash_keyed, path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert post(dash_keyed, path, "wrong").status_code == 401
    assert httpx.get(dash_keyed.base + "/v1/dashboard/models").status_code == 401
    page = httpx.get(dash_keyed.base + "/ui/models")  # the page itself holds no data: it asks
    assert page.status_code == 200 and 'data-key-required="yes"' in page.text
    assert post(dash_keyed, "/v1/models/code/unload", dash_key).status_code == 200


def test_traffic_records_each_routed_request_with_latency_and_cost(dash, dash_engine):
    httpx.post(dash.base + "/v1/route", json={"input": "write a python function to sort lists"}, timeout=60)
    r = httpx.post(dash.base + "/v1/chat/completions", timeout=120, json={
        "model": "auto", "max_tokens": 8, "messages": [{"role": "user", "content": "write a python function to add"}]})
    assert r.status_code == 200, r.text
    answered = r.json()["model"]
    data = httpx.get(dash.base + "/v1/dashboard/traffic?n=5", timeout=60).json()
    latest, routed = data["recent"][0], data["recent"][1]
    assert latest["endpoint"] == "/v1/chat/completions" and latest["model"] == answered
    assert latest["reason"] == r.headers["x-cadre-route"].replace("->", "→").replace(">=", "≥") or latest["reason"]
    tokens = r.json()["usage"]["total_tokens"]
    assert latest["tokens"] == tokens
    price = dash_engine.registry.get(answered).cost_per_1k_tokens
    assert abs(latest["cost"] - tokens * price / 1000) < 1e-9
    assert routed["endpoint"] == "/v1/route" and routed["model"] is None and routed["route"]
    stats = data["model"][answered]
    assert stats["requests"] >= 1 and 0 < stats["p50_ms"] <= stats["p99_ms"]
    assert data["engine"]["requests"] >= 1 and data["cost_per_minute"]


def test_routers_and_specialists_come_from_disk(dash):
    routers = httpx.get(dash.base + "/v1/dashboard/routers", timeout=60).json()
    intent = routers["intent"][0]
    assert intent["name"] == "router" and "code" in intent["labels"]
    assert set(intent["thresholds"]) <= set(intent["labels"])
    learned = routers["learned"][0]
    assert learned["val_cost"] == 0.0039 and len(learned["curve"]) == 5
    reports = httpx.get(dash.base + "/v1/dashboard/specialists", timeout=60).json()["reports"]
    assert reports[0]["name"] == "sentiment" and reports[0]["exit_status"] == 0
    assert reports[0]["finetuned"]["accuracy"] == 0.86


def test_unknown_view_and_static_file_are_404_json(dash):
    for path in ("/ui/nope", "/ui/static/../conftest.py", "/ui/static/secret.txt"):
        r = httpx.get(dash.base + path)
        assert r.status_code == 404 and "error" in r.json()
    assert httpx.get(dash.base + "/ui", follow_redirects=False).headers["location"] == "/ui/models"


def test_a_long_curve_is_thinned_keeping_both_ends():
    from cadre.server.dashboard.artifacts import thin

    points = [{"cost": i} for i in range(1000)]
    out = thin(points, 50)
    assert len(out) == 50 and out[0] is points[0] and out[-1] is points[-1]
    assert thin(points[:10], 50) == points[:10]
