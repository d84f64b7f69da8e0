import gc
import json

import pytest

from cadre.config import ModelEntry, ProjectConfig, RouterSettings, RuntimeSettings
from cadre.errors import CadreError
from cadre.runtime.engine import Engine, target_language
from cadre.runtime.errors import UnknownModel


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)


def project(router_dir, causal_dir, code_path=None, router_path=None, router_backend="onnx", **runtime):
    return ProjectConfig(models=[
        ModelEntry(name="primary", path=str(causal_dir), capabilities=["primary_chat"]),
        ModelEntry(name="router", backend=router_backend, path=str(router_path or router_dir),
                   capabilities=["intent_classification"]),
        ModelEntry(name="code", path=str(code_path or causal_dir), capabilities=["code_generation"],
                   force=True),
    ], router=RouterSettings(model="router"), runtime=RuntimeSettings(memory_budget="1GB", **runtime))


@pytest.fixture(scope="module")
def engine(tiny_router_dir, tiny_causal_dir):
    return Engine(project(tiny_router_dir, tiny_causal_dir))


def test_requests_go_to_the_specialist_tool_or_primary_and_say_why(engine):
    code = engine.generate("write a python function to reverse strings", max_tokens=4)
    assert code.model == "code" and code.route.name == "code"
    assert code.reason.startswith("nano code") and "→ generate_code → code (" in code.reason
    assert code.reason.endswith("code: specialist unscored (run cadre scoreboard), forced)")  # force: true
    math = engine.generate("what is 12 times 7", max_tokens=4)
    assert math.model == "tool:solve_math" and math.text.endswith(str(12 * 7)) and "sympy" in math.reason
    chat = engine.generate("hello there, how are you", max_tokens=4)
    assert chat.model == "primary" and chat.reason.endswith("→ primary") and chat.latency_ms > 0
    assert chat.usage.completion_tokens <= 4


def test_a_degenerate_specialist_answer_is_replaced_by_the_primary(engine):
    result = engine.generate("write a python function to add two numbers", max_tokens=12)
    words = result.text.split()
    if "degenerate answer → primary" in result.reason or "empty answer → primary" in result.reason:
        assert result.model == "primary" and result.reason.startswith("nano code")
    else:  # the specialist wrote something varied enough: it stands
        assert result.model == "code" and len(set(words)) > len(words) / 2


def test_routes_without_a_model_fall_back_to_the_primary(engine):
    result = engine.generate("translate into french: good morning", max_tokens=3)
    assert result.model == "primary" and "no translation model" in result.reason
    no_image = engine.generate("describe this photo of a dog", max_tokens=3)
    assert no_image.model == "primary" and "no image attached" in no_image.reason
    assert target_language("translate into french: hi") == "French"


def test_route_names_models_and_routers(engine):
    assert engine.model_names() == ["primary", "router", "code"]
    assert engine.router_names() == ["auto", "router-nano-0.5", "router-keyword-0.5"]
    assert engine.route("solve 2x = 4", model="router-keyword-0.3").reason.startswith("keyword math")
    strict = engine.route("write a python function to add", model="router-nano-0.999")
    assert "< 1.00" in strict.reason and "keyword" in strict.reason
    named = engine.chat([{"role": "user", "content": "anything"}], model="code", max_tokens=2)
    assert named.model == "code" and named.route is None and "requested by name" in named.reason
    for bad in ("gpt-5", "router-embedding-0.5", "router-nano-7"):
        with pytest.raises(UnknownModel):
            engine.chat([{"role": "user", "content": "hi"}], model=bad)


def test_streaming_knows_model_and_reason_before_the_first_delta(engine):
    handle = engine.chat_stream([{"role": "user", "content": "write a python function to sort lists"}], max_tokens=5)
    assert handle.model == "code" and "generate_code" in handle.reason
    assert engine.manager.slots["code"].in_use == 1
    text = "".join(handle.deltas)
    assert handle.usage.completion_tokens == 5 and isinstance(text, str)
    assert engine.manager.slots["code"].in_use == 0
    dropped = engine.chat_stream([{"role": "user", "content": "hello there"}], max_tokens=5)
    assert engine.manager.slots["primary"].in_use == 1
    del dropped
    gc.collect()
    assert engine.manager.slots["primary"].in_use == 0  # released although never iterated


def test_bad_messages_are_clear_errors(engine):
    for bad, message in [([], "non-empty"), ([{"role": "robot", "content": "x"}], r"messages\[0\]"),
                         ([{"role": "user", "content": 5}], "content")]:
        with pytest.raises(CadreError, match=message):
            engine.chat(bad)
    remote = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]
    with pytest.raises(CadreError, match="remote image URLs"):
        engine.chat(remote)


def test_missing_specialist_and_router_fall_back_and_the_engine_keeps_serving(tmp_path, tiny_router_dir, tiny_causal_dir):
    engine = Engine(project(tiny_router_dir, tiny_causal_dir, code_path=tmp_path / "gone" / "code",
                            router_path=tmp_path / "gone" / "router"))
    code = engine.generate("write a python function to add numbers", max_tokens=3)
    assert code.model == "primary"
    assert "router router unavailable" in code.reason and "keyword code" in code.reason
    assert "code_generation model failed" in code.reason and "model files are missing" in code.reason
    assert engine.generate("what is 6 times 7", max_tokens=3).text.endswith("42")
    snapshot = engine.metrics_snapshot()
    assert snapshot["requests"] == 2 and snapshot["models"]["code"]["loaded"] is False
    assert snapshot["models"]["primary"]["loaded"] and snapshot["used_bytes_cpu"] <= snapshot["budget_bytes_cpu"]


def test_a_router_folder_named_with_local_is_served_by_the_one_router_backend(tiny_router_dir, tiny_causal_dir):
    from cadre.runtime.backends.onnx import OnnxBackend

    engine = Engine(project(tiny_router_dir, tiny_causal_dir, router_backend="local"))
    assert engine.route("write a python function to reverse strings").name == "code"
    with engine.manager.use("router") as backend:
        assert type(backend) is OnnxBackend and backend.router is not None
    asked = engine.chat([{"role": "user", "content": "write a python function to reverse strings"}], model="router")
    assert asked.model == "router" and asked.text == "code"  # a router asked by name answers its label
    engine.close()


def test_routing_off_and_primary_tool_calling(tiny_router_dir, tiny_causal_dir):
    off = Engine(project(tiny_router_dir, tiny_causal_dir), use_routing=False)
    result = off.generate("what is 12 times 7", max_tokens=3)
    assert result.model == "primary" and result.reason == "routing disabled → primary"
    calling = Engine(project(tiny_router_dir, tiny_causal_dir, tool_calling="primary"))
    looped = calling.generate("what is 12 times 7", max_tokens=8)
    assert looped.reason.startswith("tool calling: primary")
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
    client = calling.chat([{"role": "user", "content": "weather in Paris?"}], tools=tools, max_tokens=8)
    # tools do not skip routing; the chosen model (here the primary) is offered them in its prompt
    assert client.model == "primary" and client.reason.startswith("nano ")
    assert "client tools offered in the prompt" in client.reason and client.usage.completion_tokens > 0


def test_from_config_file_reads_the_seed_json(tmp_path, tiny_router_dir, tiny_causal_dir):
    seed = {"enabled": True, "models": {"router": {"path": str(tiny_router_dir), "size": "nano"},
                                        "code": {"path": str(tiny_causal_dir), "size": "nano"}}}
    path = tmp_path / "specialized_models.json"
    path.write_text(json.dumps(seed))
    engine = Engine.from_config_file(path)
    assert engine.model_names() == ["primary", "router", "code"]
    assert engine.route("write a python function to add").name == "code"


def test_an_answer_is_read_async_whole_or_sync_and_releases_its_model(engine):
    import asyncio

    ask = [{"role": "user", "content": "hello there, how are you"}]

    async def read(answer):
        return "".join([piece async for piece in answer])

    streamed = engine.chat_stream(ask, max_tokens=4)
    text = asyncio.run(read(streamed))
    assert streamed.model == "primary" and text and streamed.usage.completion_tokens <= 4
    whole = engine.chat_stream(ask, max_tokens=4)
    assert whole.collect() == (text, [])  # greedy: the same words, whole
    assert "".join(engine.chat_stream(ask, max_tokens=4)) == text
    assert engine.manager.slots["primary"].in_use == 0
