import pytest

from cadre.config import CAPABILITIES, ModelEntry, ProjectConfig
from cadre.errors import CadreError
from cadre.runtime.errors import UnknownModel
from cadre.runtime.registry import ModelCapability, ModelSpec, Registry, get_model_for_capability


def test_capability_enum_matches_the_project_file_names():
    assert [c.value for c in ModelCapability] == list(CAPABILITIES)
    assert ModelCapability.PRIMARY_CONVERSATION is ModelCapability.PRIMARY_CHAT  # seed 002's alias
    assert ModelCapability.parse("code_generation") is ModelCapability.CODE_GENERATION
    with pytest.raises(CadreError, match="unknown capability"):
        ModelCapability.parse("telepathy")


def test_a_capability_maps_to_the_highest_priority_model():
    reg = Registry([
        ModelSpec("small", capabilities=(ModelCapability.PROMPT_ENHANCEMENT,), priority=10),
        ModelSpec("big", capabilities=(ModelCapability.PROMPT_ENHANCEMENT, ModelCapability.SUMMARIZATION), priority=90),
        ModelSpec("tie", capabilities=(ModelCapability.SUMMARIZATION,), priority=90),
    ])
    assert get_model_for_capability(ModelCapability.PROMPT_ENHANCEMENT, reg).name == "big"
    assert [s.name for s in reg.candidates("summarization")] == ["big", "tie"]  # ties keep order
    assert get_model_for_capability(ModelCapability.TRANSLATION, reg) is None


def test_seed_attribute_names_and_unknown_models():
    spec = ModelSpec("q", path="Qwen/Qwen2.5-3B-Instruct", memory_mb=2000,
                     capabilities=(ModelCapability.PROMPT_ENHANCEMENT,))
    assert spec.model_path == "Qwen/Qwen2.5-3B-Instruct" and spec.gpu_memory_gb == 2.0
    reg = Registry([spec])
    with pytest.raises(UnknownModel, match="models: q"):
        reg.get("nope")
    with pytest.raises(CadreError, match="already registered"):
        reg.add(spec)


def test_from_config_pins_the_primary_and_resolves_paths(tmp_path):
    (tmp_path / "code").mkdir()
    config = ProjectConfig(models=[
        ModelEntry(name="a", path="smollm2-135m-instruct", capabilities=["primary_chat"], priority=10),
        ModelEntry(name="b", path="smollm2-135m-instruct", capabilities=["primary_chat"], priority=60),
        ModelEntry(name="c", path="code", capabilities=["code_generation"]),
    ], base_dir=str(tmp_path))
    reg = Registry.from_config(config)
    assert reg.primary().name == "b" and reg.get("b").pinned and not reg.get("a").pinned
    assert reg.get("c").path == str((tmp_path / "code").resolve())
    assert reg.get("a").path == "smollm2-135m-instruct"  # a name, not a path: kept


def test_one_model_row_and_one_capability_enum(tmp_path):
    import cadre.config as config
    import cadre.runtime.registry as registry

    assert config.ModelEntry is registry.ModelSpec and config.ModelCapability is registry.ModelCapability
    assert config.CAPABILITIES == tuple(c.value for c in ModelCapability)
    (tmp_path / "code").mkdir()
    path = tmp_path / "cadre.yaml"
    path.write_text("models:\n  - {name: chat, path: smollm2-135m-instruct, capabilities: [primary_chat]}\n"
                    "  - {name: code, path: code, capabilities: [code_generation], quantization: int8}\n")
    project = config.load_config(path)
    spec = Registry.from_config(project).get("code")
    assert type(spec) is type(project.models[1]) is ModelSpec and spec.path == str((tmp_path / "code").resolve())
    assert spec.capabilities == ["code_generation"] and {"code_generation"} == set(spec.capabilities)
    assert f"{spec.capabilities[0]}" == "code_generation" and spec.pinned is False
    # the project file's rules (a location, a capability) hold for files, not for rows made in Python
    path.write_text("models:\n  - {name: chat, capabilities: [primary_chat]}\n")
    with pytest.raises(CadreError, match=r"cadre.yaml:2: models\[0\]: backend 'local' needs a path"):
        config.load_config(path)
    assert ModelSpec("bare").path is None and Registry([ModelSpec("bare")]).get("bare").pinned is False
    with pytest.raises(CadreError, match="model 'x': max_context: .*greater than 0"):
        ModelSpec("x", max_context=0)
    assert spec.replace(priority=99).priority == 99 and spec.priority == 50
