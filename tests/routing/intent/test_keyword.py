"""The keyword router: bundled rules, learned patterns, routes YAML, edge inputs."""
from __future__ import annotations

import pytest

from cadre.errors import CadreError
from cadre.routing import OUT_OF_SCOPE, default_router, load_router
from cadre.routing.intent.keyword import DEFAULT_RULES, KeywordRouter
from cadre.routing.routes import parse_routes_yaml

EDGE_INPUTS = ["", "   ", "x" * 20_000, "把这段话翻译成英语", "ترجم هذه الجملة إلى الإنجليزية", "🎨🖌️🙂", "\x00\n\t"]


def test_bundled_rules_cover_the_ten_intents():
    router = KeywordRouter.from_yaml()
    assert set(router.labels) - {OUT_OF_SCOPE} == {"chat", "image", "vision", "code", "math", "video",
                                                   "audio", "search", "summarize", "translate"}
    cases = {"draw me a cat on a skateboard": "image", "translate good night into French": "translate",
             "write a python function that reverses a list": "code", "what is 17 * 23": "math",
             "summarize this article in three sentences": "summarize", "what is in this photo": "vision"}
    for text, route in cases.items():
        assert router.route(text).name == route, text


def test_no_match_falls_to_default_route_and_says_so():
    router = KeywordRouter.from_yaml()
    assert router.default_route == "chat"  # from the YAML
    choice = router.route("qwzx plorb")
    assert choice.name == "chat"
    assert choice.reason == "keyword: no rule matched → default chat"
    router.default_route = None
    assert router.route("qwzx plorb").name == OUT_OF_SCOPE


@pytest.mark.parametrize("text", EDGE_INPUTS)
def test_edge_inputs_route_without_crashing(text):
    choice = default_router(models_dir="/nonexistent-models").route(text)
    assert choice.name in {"chat", "translate", "image"} and choice.reason


def test_fit_learns_word_patterns_and_rejects_one_class():
    texts = [f"please draw a {t}" for t in "cat dog fox owl".split()] + \
            [f"play a song about {t}" for t in "cat dog fox owl".split()]
    labels = ["image"] * 4 + ["audio"] * 4
    router = KeywordRouter.fit(texts, labels)
    assert "draw" in next(r.patterns for r in router.routes() if r.name == "image")
    assert router.route("draw a horse").name == "image"
    assert router.route("a song for my mum").name == "audio"
    from cadre.routing.intent.fit import check_classes

    with pytest.raises(CadreError, match="single class"):
        check_classes(["image"] * 5)


def test_routes_yaml_round_trip_and_errors(tmp_path):
    router = KeywordRouter.from_yaml()
    router.set_thresholds({"image": 0.4})
    routes, default = parse_routes_yaml(router.to_yaml())
    assert default == "chat"
    assert [(r.name, r.patterns, r.threshold) for r in routes] == \
           [(r.name, r.patterns, r.threshold) for r in router.routes()]
    bad = tmp_path / "thresholds.yaml"
    bad.write_text("image: 0.5\nteleport: 0.9\n")
    with pytest.raises(CadreError, match=r"thresholds.yaml: unknown route\(s\) \['teleport'\]"):
        router.apply_yaml(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("routes:\n  - name: a\n    patterns: [unclosed\n")
    with pytest.raises(CadreError, match=r"broken.yaml:\d+: invalid YAML"):
        KeywordRouter.from_yaml(broken)
    regex = tmp_path / "regex.yaml"
    regex.write_text("routes:\n  - name: a\n    patterns: ['(oops']\n  - name: b\n    patterns: [b]\n")
    with pytest.raises(CadreError, match="not a valid regular expression"):
        KeywordRouter.from_yaml(regex)


def test_save_and_load_router_folder(tmp_path):
    router = KeywordRouter.from_yaml(DEFAULT_RULES)
    router.set_thresholds({"math": 0.75})
    router.save(tmp_path / "kw")
    loaded = load_router(tmp_path / "kw")
    assert isinstance(loaded, KeywordRouter) and loaded.thresholds["math"] == 0.75
    text = "what is the square root of 81 and the news today"
    assert loaded.route(text).scores == router.route(text).scores


def test_missing_and_corrupt_router_folders(tmp_path):
    with pytest.raises(CadreError, match="not found"):
        load_router(tmp_path / "absent")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "cadre.json").write_text("{not json")
    with pytest.raises(CadreError, match="corrupt metadata"):
        load_router(tmp_path / "junk")
    KeywordRouter.from_yaml().save(tmp_path / "kw")
    (tmp_path / "kw" / "routes.yaml").unlink()
    with pytest.raises(CadreError, match="no routes.yaml"):
        load_router(tmp_path / "kw")
