import pytest

from cadre import presets
from cadre.errors import CadreError
from cadre.modeling import count_parameters

TARGETS = {"nano": 1e6, "micro": 2e6, "tiny": 5e6, "mini": 10e6, "small": 27e6, "medium": 85e6, "large": 200e6}


def test_fifteen_presets_from_nano_to_xxl():
    names = presets.names()
    assert len(names) == 15 and names[0] == "nano" and names[-1] == "xxl"


@pytest.mark.parametrize("name", presets.names())
def test_every_preset_builds_and_matches_its_target(name):
    preset = presets.from_name(name)
    measured = count_parameters(preset)  # a real LlamaForCausalLM on the meta device
    assert measured == preset.estimate_params()
    assert 0.8 <= measured / preset.target_params <= 1.2
    assert preset.d_model % preset.n_head == 0 and preset.n_head % preset.n_kv_head == 0
    if name in TARGETS:
        assert preset.target_params == TARGETS[name]


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(CadreError, match="valid presets: nano, micro"):
        presets.from_name("gigantic")


def test_overrides_replace_fields_and_reject_unknown():
    assert presets.from_name("nano", context=64).context == 64
    with pytest.raises(CadreError, match="unknown preset field"):
        presets.from_name("nano", depth=3)
