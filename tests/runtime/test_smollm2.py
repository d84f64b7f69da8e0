"""SmolLM2-135M-Instruct as the primary (the real model; conversion is cached under
CADRE_CACHE, so only the first run pays ~20 s)."""
import pytest

from cadre.config import ModelEntry, ProjectConfig, RuntimeSettings
from cadre.runtime.engine import Engine
from cadre.runtime.tools import TOOL_SCHEMAS, parse_tool_calls, tool_prompt


@pytest.fixture(scope="module")
def engine():
    import torch

    torch.set_num_threads(1)
    config = ProjectConfig(models=[ModelEntry(name="smollm2", path="smollm2-135m-instruct", memory_mb=600,
                                              capabilities=["primary_chat", "summarization", "translation"])],
                           runtime=RuntimeSettings(memory_budget="2GB"))
    return Engine(config)


def test_smollm2_answers_chat_through_its_chat_template(engine):
    result = engine.generate("Hello! Say hi back in a few words.", max_tokens=8)
    assert result.model == "smollm2" and result.text.strip()
    assert 0 < result.usage.completion_tokens <= 8 and result.usage.prompt_tokens > 10
    slot = engine.manager.slots["smollm2"]
    assert slot.state == "loaded" and slot.tensors > 400e6  # 134.5M fp32 parameters
    assert engine.generate("what is 256 times 256", max_tokens=8).text.endswith(str(256 * 256))  # keywords → sympy


def test_smollm2_output_with_the_tool_prompt_is_parsed_without_crashing(engine):
    with engine.manager.use("smollm2") as model:
        text, usage, _ = model.chat([{"role": "system", "content": tool_prompt(list(TOOL_SCHEMAS.values()))},
                                     {"role": "user", "content": "What is 1234 times 5678?"}], max_tokens=24)
    calls, errors = parse_tool_calls(text)
    assert usage.prompt_tokens > 300  # the six schemas went in
    assert all(c.name for c in calls) and all(isinstance(e, str) for e in errors)
