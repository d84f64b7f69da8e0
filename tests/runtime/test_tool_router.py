import pytest

from cadre.config import ModelEntry, ProjectConfig, RouterSettings, RuntimeSettings
from cadre.runtime.tool_router import ToolRouter, get_router


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def config(tiny_router_dir, tiny_causal_dir):
    return ProjectConfig(models=[
        ModelEntry(name="primary", path=str(tiny_causal_dir), capabilities=["primary_chat"]),
        ModelEntry(name="router", backend="onnx", path=str(tiny_router_dir), capabilities=["intent_classification"]),
        ModelEntry(name="code", path=str(tiny_causal_dir), capabilities=["code_generation"], force=True),
    ], router=RouterSettings(model="router"), runtime=RuntimeSettings(memory_budget="1GB"))


def test_seed_000_tool_router_methods(config):
    router = ToolRouter(config=config, use_specialized=True)
    assert router.classify_intent("draw a picture of a castle") == "image"
    assert router.classify_intent("write a python function to sort lists") == "code"
    assert isinstance(router.generate_code("write a function to reverse a string", max_tokens=4), str)
    assert router.engine.manager.slots["code"].loads == 1
    assert router.solve_math("solve 2x + 3 = 11") == "x = 4"
    assert router.describe_image("cat, sleeping, couch") == "Features: cat, sleeping, couch."  # no captioner here


def test_without_specialists_keywords_and_the_primary_answer(config):
    router = ToolRouter(config=config, use_specialized=False)
    assert router.classify_intent("please translate this into German") == "translate"
    assert router.classify_intent("zzzz qqqq") == "chat"  # nothing matches: the default route
    router.generate_code("write a function to add", max_tokens=2)
    assert router.engine.manager.slots["code"].loads == 0 and router.engine.manager.slots["router"].loads == 0


def test_get_router_is_cached_per_flag(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no cadre.yaml here: the built-in default project
    first = get_router(use_specialized=False)
    assert get_router(use_specialized=False) is first and first.use_specialized is False
