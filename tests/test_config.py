import json
from pathlib import Path

import pytest

from cadre.config import CAPABILITIES, load_config, parse_size
from cadre.errors import CadreError

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
version: 1
runtime:
  memory_budget: 512MB
models:
  - name: chat
    path: smollm2-135m-instruct
    capabilities: [primary_chat]
  - name: coder
    backend: openai
    url: http://127.0.0.1:9/v1
    capabilities: [code_generation]
    priority: 80
"""


def write(tmp_path, text, name="cadre.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,expected", [("2GB", 2_000_000_000), ("512MB", 512_000_000),
                                           ("1.5GiB", int(1.5 * 2**30)), (1000, 1000), ("64 kb", 64_000)])
def test_parse_size_reads_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["lots", "-1GB", "2XB", 0])
def test_parse_size_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        parse_size(bad)


def test_a_good_file_loads_with_defaults(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert [m.name for m in config.models] == ["chat", "coder"]
    assert config.runtime.memory_budget == "512MB" and config.runtime.keep_alive == 300
    assert config.all_routes()["math"].tool == "solve_math"
    assert config.base_dir == str(tmp_path.resolve())


@pytest.mark.parametrize("edit,field,line", [
    (("    priority: 80", "    priorty: 80"), "models[1].priorty", 12),
    (("[code_generation]", "[coding]"), "models[1].capabilities", 11),
    (("  memory_budget: 512MB", "  memory_budget: lots"), "runtime.memory_budget", 3),
    (("    url: http://127.0.0.1:9/v1\n", ""), "models[1]", 8),
])
def test_errors_name_the_file_line_and_field(tmp_path, edit, field, line):
    path = write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(CadreError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: {field}"), message
    assert "\n" not in message


def test_duplicate_names_and_missing_primary_are_errors(tmp_path):
    with pytest.raises(CadreError, match="duplicate model name"):
        load_config(write(tmp_path, GOOD.replace("name: coder", "name: chat")))
    with pytest.raises(CadreError, match="primary_chat"):
        load_config(write(tmp_path, GOOD.replace("[primary_chat]", "[summarization]")))


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(CadreError, match=r"cadre.yaml:\d+: invalid YAML"):
        load_config(write(tmp_path, GOOD + "  - name: [unclosed\n"))


def test_reserved_names_and_missing_file(tmp_path):
    with pytest.raises(CadreError, match="reserved"):
        load_config(write(tmp_path, GOOD.replace("name: coder", "name: router-nano-0.5")))
    with pytest.raises(CadreError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_seed_specialized_models_json_is_accepted(tmp_path):
    seed = {"enabled": True, "shared_tokenizer": "enigma/vocab_model/bpe_vocab.json", "models": {
        "router": {"path": "models/specialized/intent_router_nano.pth", "size": "nano",
                   "description": "Classifies user intent", "max_seq_len": 256},
        "vision": {"path": "models/specialized/vision_caption_tiny.pth", "size": "tiny",
                   "description": "Generates descriptions from vision features", "max_seq_len": 512},
        "code": {"path": "models/specialized/code_gen_small.pth", "size": "small",
                 "description": "Generates and explains code", "max_seq_len": 1024}}}
    config = load_config(write(tmp_path, json.dumps(seed), "specialized_models.json"))
    by_name = {m.name: m for m in config.models}
    assert by_name["router"].capabilities == ["intent_classification"] and by_name["router"].backend == "onnx"
    assert by_name["vision"].max_context == 512 and by_name["code"].path == "models/specialized/code_gen_small"
    assert by_name["code"].memory_mb > by_name["vision"].memory_mb > by_name["router"].memory_mb
    assert config.router.model == "router" and "primary_chat" in by_name["primary"].capabilities


def test_seed_json_with_an_unknown_type_is_an_error(tmp_path):
    seed = {"models": {"poetry": {"path": "x"}}}
    with pytest.raises(CadreError, match="poetry"):
        load_config(write(tmp_path, json.dumps(seed), "specialized_models.json"))


def test_the_example_project_file_validates_and_opens_with_its_command():
    path = REPO / "configs" / "cadre.yaml"
    assert path.read_text().splitlines()[0].startswith("# Run:")
    config = load_config(path)
    caps = {c for m in config.models for c in m.capabilities}
    assert {"primary_chat", "intent_classification", "vision_captioning", "code_generation"} <= caps
    assert set(caps) <= set(CAPABILITIES)


def test_every_yaml_settings_file_has_one_reader_that_names_the_line(tmp_path):
    """The project file, specialist recipes and SkyPilot tasks are read by
    cadre.yamlio.read_mapping; a bad field in a specialist recipe now names its line too."""
    from cadre.fleet.sky import read_config
    from cadre.training.lora.catalog import load_spec_file

    recipe = (REPO / "configs" / "specialists" / "sentiment.yaml").read_text()
    bad = tmp_path / "sentiment.yaml"
    bad.write_text(recipe.replace("\nscoring: ", "\nscoring: vibes  # "))
    line = 1 + next(i for i, row in enumerate(recipe.splitlines()) if row.startswith("scoring: "))
    with pytest.raises(CadreError, match=rf"^{bad}:{line}: scoring: "):
        load_spec_file(bad)
    bad.write_text("- a list\n")
    with pytest.raises(CadreError, match="expected a mapping of specialist settings"):
        load_spec_file(bad)
    with pytest.raises(CadreError, match="expected a SkyPilot task"):
        read_config(bad)
    package = REPO / "cadre"
    readers = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                     if any(w in p.read_text() for w in ("start_mark", "yaml.safe_load(", "yaml.load(", "SafeLoader(")))
    assert readers == ["yamlio.py"], readers
