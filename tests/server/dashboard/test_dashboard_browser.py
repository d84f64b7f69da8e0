"""The dashboard in a real headless browser (Debian's chromium through Playwright) against
a real server: the Module Manager's buttons, the playground, the key prompt, and no
console errors."""
from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect


def used_bytes(page) -> int:
    return int(page.locator('.memory-text[data-device="cpu"]').get_attribute("data-used"))


def test_load_and_unload_with_the_buttons_then_route_in_the_playground(dash, page):
    httpx.post(dash.base + "/v1/models/code/unload", timeout=60)
    page.goto(dash.base + "/ui")
    expect(page).to_have_url(re.compile(r"/ui/models$"))
    code = page.locator('tr[data-model="code"]')
    expect(code.locator("td.status")).to_have_text("unloaded")
    before = used_bytes(page)
    code.locator("button.load").click()
    expect(code.locator("td.status")).to_have_text("loaded", timeout=60_000)
    page.wait_for_function(f"Number(document.querySelector('.memory-text').dataset.used) > {before}")
    assert used_bytes(page) > before
    code.locator("button.unload").click()
    expect(code.locator("td.status")).to_have_text("unloaded")
    page.wait_for_function(f"Number(document.querySelector('.memory-text').dataset.used) === {before}")
    primary_unload = page.locator('tr[data-model="primary"] button.unload')
    expect(primary_unload).to_be_disabled()
    expect(primary_unload).to_contain_text("Pinned primary")

    page.locator("nav a", has_text="Playground").click()
    page.fill("#prompt", "write a python function to reverse strings")
    page.click("#route-btn")
    expect(page.locator("#route-name")).to_have_text(re.compile(r"\w+"), timeout=60_000)  # first use loads the router
    route = page.locator("#route-name").inner_text()
    expect(page.locator("#route-reason")).to_contain_text(route)
    expect(page.locator("#scores tr")).not_to_have_count(0)
    expect(page.locator("#scores tr.chosen td").first).to_have_text(route)
    expect(page.locator("#answered-by")).not_to_have_text(re.compile(r"^(…)?$"), timeout=60_000)
    assert page.errors == []


def test_over_budget_load_shows_the_managers_error_in_the_page(dash, page):
    page.goto(dash.base + "/ui/models")
    page.locator('tr[data-model="big"] button.load').click()
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("'big' needs ~50.0 GB but the cpu memory budget is 3.0 GB")
    expect(page.locator('tr[data-model="big"] td.status')).to_have_text(re.compile("unloaded"))
    assert [e for e in page.errors if "400" not in e] == []  # the refused load's own 400 only


def test_without_the_key_the_page_asks_for_it(dash_keyed, dash_key, page):
    page.goto(dash_keyed.base + "/ui/models")
    expect(page.locator("#key-form")).to_be_visible()
    expect(page.locator('tr[data-model="code"]')).to_have_count(0)
    page.fill("#api-key", dash_key)
    page.click("#key-form button")
    expect(page.locator("#key-form")).to_be_hidden()
    expect(page.locator('tr[data-model="code"] td.status')).to_have_text(re.compile("loaded|unloaded"))
    assert [e for e in page.errors if "401" not in e] == []


def test_every_view_renders_its_data_without_console_errors(dash, page):
    httpx.post(dash.base + "/v1/route", json={"input": "summarize this article about the sea"}, timeout=60)
    checks = {"traffic": "#recent tr", "routers": "svg[data-router] .operating-point",
              "specialists": '[data-specialist="sentiment"] li.pass', "models": "#memory .bar"}
    for view, selector in checks.items():
        page.goto(f"{dash.base}/ui/{view}")
        expect(page.locator(selector).first).to_be_visible()
        expect(page.locator("#updated")).to_contain_text("updated")
    page.goto(dash.base + "/ui/routers")
    expect(page.locator(".router table.thresholds tr")).not_to_have_count(0)
    page.goto(dash.base + "/ui/playground")
    expect(page.locator("#router option")).not_to_have_count(1)  # auto, then router-<kind>-<t>
    assert page.errors == []
