"""The Models view shows LoRA adapters under the one base they share (real chromium, real
server, two tiny adapters on the real SmolLM2 base)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.server.dashboard.conftest import LiveServer


@pytest.fixture(scope="module")
def lora_dash(tmp_path_factory, smollm2_adapters):
    import torch

    from cadre.runtime.engine import Engine
    from cadre.server.app import create_app
    from cadre.server.settings import ServerSettings

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("lora-dash")
    (root / "cadre.yaml").write_text(f"""\
version: 1
runtime: {{memory_budget: 3GB, keep_alive: 600}}
router: {{enabled: false}}
models:
  - {{name: sql, path: "{smollm2_adapters['sql']}", capabilities: [primary_chat]}}
  - {{name: ner, path: "{smollm2_adapters['ner']}", capabilities: [summarization]}}
""")
    engine = Engine.from_config_file(root / "cadre.yaml")
    server = LiveServer(create_app(engine, ServerSettings()))
    yield server
    server.stop()
    engine.close()


def test_models_view_lists_adapters_under_their_shared_base(lora_dash, page):
    page.goto(lora_dash.base + "/ui/models")
    base = page.locator("tr.base-row")
    expect(base).to_have_count(1)
    expect(base.locator("td.status")).to_contain_text("0 of 2 adapters loaded")
    names = page.locator("#models tr td:first-child")
    expect(names).to_have_text(["base smollm2-135m-instruct", "↳ sql ★", "↳ ner"])  # sql is the primary
    sql = page.locator('tr.adapter-row[data-model="sql"]')
    sql.locator("button.load").click()
    expect(sql.locator("td.status")).to_have_text("loaded", timeout=120_000)
    expect(base.locator("td.status")).to_contain_text("loaded · 1 of 2 adapters loaded")
    used = int(page.locator('.memory-text[data-device="cpu"]').get_attribute("data-used"))
    assert used > 400e6  # the base, counted once
    assert page.errors == []
