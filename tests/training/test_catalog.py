"""The specialist catalog: a dozen specs on public data with their licences named, the data
readers and judges they need, the bounded local-test recipe, and the paired evidence that
gates a run. Nothing here needs ../shared: bundled specs are prepared from the repo."""
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cadre.cli.main import app
from cadre.data.formats import read_conll, read_trec
from cadre.data.specialist_data import prepare
from cadre.evaluation.evidence import compare
from cadre.evaluation.judges import get_judge
from cadre.training.lora import pipeline as lora
from cadre.training.lora.catalog import CATALOG_DIR, catalog, load_spec_file, load_specialist, resolve_data_path

ROOT = Path(__file__).resolve().parents[2]
LICENCES = ("CC BY", "MIT", "research", "none stated", "no explicit license")


def test_the_catalog_has_at_least_12_specialists_each_naming_its_data_licence():
    names = catalog()
    assert len(names) >= 12
    assert {"sentiment", "intent", "topic", "scope", "spam", "question_type", "ner", "ner_news", "sql",
            "ticket_routing", "math", "code"} <= set(names)
    for name, path in names.items():
        header = "".join(line for line in path.read_text().splitlines(True) if line.startswith("#"))
        assert any(lic in header for lic in LICENCES), f"{name}: no licence named in its header"
        spec = load_specialist(name)
        assert spec.for_local_test().local_test.test_size is not None, f"{name}: unbounded local test"


def test_bundled_specs_prepare_from_the_repo_alone(monkeypatch, tmp_path):
    """Every spec whose data is bundled (open licence) prepares its local-test splits with
    no ../shared: {prompt, response, metadata} rows, sizes as the recipe says."""
    monkeypatch.delenv("CADRE_SHARED", raising=False)
    monkeypatch.chdir(tmp_path)  # relative paths resolve from the project root
    bundled = [n for n in catalog() if not load_specialist(n).dataset.path.startswith("../shared")]
    assert {"topic", "scope", "spam", "ner", "sql", "ticket_routing", "intent"} <= set(bundled)
    for name in bundled:
        spec = load_specialist(name).for_local_test()
        lt = spec.local_test
        data = prepare(spec.dataset, spec.prompt, classification=spec.is_classification, reference=spec.reference,
                       path=resolve_data_path(spec.dataset.path),
                       sizes={"train": lt.train_size, "validation": lt.validation_size, "test": lt.test_size})
        assert len(data["splits"]["test"]) == lt.test_size, name
        ex = data["splits"]["train"][0]
        assert set(ex) == {"prompt", "response", "metadata"} and ex["response"], name
    attribution = (ROOT / "data" / "specialists" / "ATTRIBUTION.md").read_text()
    for source in ("CLINC150", "SMS Spam Collection", "WNUT-17", "Spider", "CC BY-SA 4.0"):
        assert source in attribution


def test_ticket_routing_groups_every_banking77_intent():
    spec = load_specialist("ticket_routing")
    intents = json.loads((ROOT / "data" / "intents" / "banking77" / "categories.json").read_text())
    assert sorted(spec.dataset.label_names) == sorted(intents)
    assert len(set(spec.dataset.label_names.values())) == 8


def test_conll_reader_handles_iob1_and_iob2_and_trec_lines():
    iob1 = "-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\nPeter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n"
    assert read_conll(iob1) == [{"text": "EU rejects Peter Blackburn",
                                 "entities": "organization: EU | person: Peter Blackburn"}]
    iob2 = "New\tB-location\nYork\tI-location\nis\tO\nbig\tO\n\nhello\tO\n"
    assert read_conll(iob2) == [{"text": "New York is big", "entities": "location: New York"},
                                {"text": "hello", "entities": "none"}]
    assert read_trec("NUM:date When did it happen ?\n") == [{"label": "NUM", "fine": "NUM:date",
                                                              "text": "When did it happen ?"}]


def test_entities_and_sql_judges():
    ents, sql = get_judge("entities"), get_judge("sql")
    assert ents("person: Mick Mulvaney | location: OMB", "location: omb | person: Mick  Mulvaney") == 1.0
    assert ents("person: Mick", "person: Mick Mulvaney") == 0.0
    assert ents("person: a | person: b", "person: a") == pytest.approx(2 / 3)
    assert ents("none", "none") == 1.0 and ents("person: x", "none") == 0.0
    assert sql("select  COUNT( * ) from singer;\nextra", "SELECT count(*) FROM singer") == 1.0
    assert sql("SELECT name FROM singer", "SELECT count(*) FROM singer") == 0.0


def test_paired_evidence_tells_a_hair_from_a_win():
    hair = compare([0.51] * 4 + [0.49] * 2, [0.5] * 6)
    assert hair["diff"] > 0 and hair["wins"] == 4 and hair["lower"] <= 0 and not hair["confident_win"]
    few = compare([1.0] * 4, [0.0] * 4)          # 4 straight wins: the sign test says too few
    assert few["lower"] > 0 and not few["confident_win"]
    clear = compare([1.0] * 30 + [0.0] * 10, [1.0] * 10 + [0.0] * 30)
    assert clear["lower"] > 0.25 and clear["confident_win"]
    assert compare([1.0] * 30 + [0.0] * 10, [1.0] * 10 + [0.0] * 30) == clear  # seeded


def test_macro_f1_evidence_is_bootstrapped_whole_and_a_constant_answer_cannot_pass_spam():
    from cadre.evaluation.evidence import compare_metric
    from cadre.evaluation.metrics import macro_f1

    truth = ["ham"] * 87 + ["spam"] * 13
    f1 = lambda t, p: macro_f1(t, p, ["ham", "spam"])
    all_ham, all_spam = ["ham"] * 100, ["spam"] * 100
    good = ["ham"] * 85 + ["spam"] * 2 + ["spam"] * 12 + ["ham"]  # 2 false alarms, 1 miss
    ev = compare_metric(truth, good, all_ham, f1)
    assert ev["specialist"] == pytest.approx(f1(truth, good)) and ev["primary"] == pytest.approx(f1(truth, all_ham))
    assert ev["lower"] > 0.3 and ev["confident_win"] and ev["wins"] == 12 and ev["losses"] == 2
    assert not compare_metric(truth, all_ham, good, f1)["confident_win"]
    # accuracy would call all-ham a big win over all-spam; macro F1 caps any constant answer
    # at 0.5, under the spam spec's local-test floor
    spec = load_specialist("spam").for_local_test()
    assert spec.gates.metric == "macro_f1" and spec.gates.finetuned_target > max(f1(truth, all_ham), f1(truth, all_spam))
    report = {"baseline": {"metrics": {"macro_f1": f1(truth, all_spam)}},
              "finetuned": {"metrics": {"macro_f1": f1(truth, all_ham)}},
              "evidence": compare_metric(truth, all_ham, all_spam, f1)}
    gates = lora.check_gates(spec, report, baseline_only=False)
    assert report["evidence"]["confident_win"] and not gates["passed"]
    assert "fine-tuned macro_f1 >= 0.6" in gates["summary"]


def test_spam_trains_on_a_class_balanced_sample_and_tests_on_the_natural_one(monkeypatch):
    """13% of SMS messages are spam: the local test trains on a balanced sample (64 steps on
    the natural one taught SmolLM2 to answer ham every time) and is scored on the natural mix."""
    from collections import Counter

    monkeypatch.delenv("CADRE_SHARED", raising=False)
    spec = load_specialist("spam").for_local_test()
    lt = spec.local_test
    sizes = {"train": lt.train_size, "validation": lt.validation_size, "test": lt.test_size}

    def counts(dataset):
        data = prepare(dataset, spec.prompt, classification=True, reference=spec.reference,
                       path=resolve_data_path(spec.dataset.path), sizes=sizes)
        return {k: Counter(ex["metadata"]["label"] for ex in v) for k, v in data["splits"].items()}, data

    (balanced, data), (natural, plain) = counts(spec.dataset), counts(spec.dataset.model_copy(update={"balance_train": False}))
    assert spec.dataset.balance_train and balanced["train"] == {"ham": 128, "spam": 128}
    assert natural["train"]["spam"] < 60 and balanced["test"] == natural["test"] and balanced["test"]["spam"] < 40
    assert data["splits"]["test"] == plain["splits"]["test"]


def test_paired_evidence_reads_the_gate_metric_from_the_predictions(tmp_path):
    rows = lambda preds: "".join(json.dumps({"reference": t, "prediction": p, "score": float(t == p)}) + "\n"
                                 for t, p in zip(["a"] * 30 + ["b"] * 10, preds))
    (tmp_path / "baseline.jsonl").write_text(rows(["a"] * 40))
    (tmp_path / "finetuned.jsonl").write_text(rows(["a"] * 30 + ["b"] * 10))
    acc = lora.paired_evidence(tmp_path)
    f1 = lora.paired_evidence(tmp_path, "macro_f1", ["a", "b"])
    assert acc["metric"] == "accuracy" and acc["diff"] == pytest.approx(0.25)
    assert f1["metric"] == "macro_f1" and f1["primary"] == pytest.approx((30 / 35 + 0) / 2)
    assert f1["diff"] == pytest.approx(1 - 30 / 70) and f1["confident_win"]


def test_a_run_records_paired_evidence_and_keeps_a_rejected_adapter_apart(tmp_path, tiny_base):
    from tests.training.test_lora import _spec

    path = _spec(tmp_path, tiny_base, gates={"finetuned_target": 1.01}, training={"max_steps": 2})
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["specialist", "run", str(path), "--output", str(out), "--quiet"])
    assert res.exit_code == 3, res.output
    report = json.loads((out / "report.json").read_text())
    ev = report["evidence"]
    assert ev["n"] == report["finetuned"]["n"] and ev["wins"] + ev["losses"] + ev["ties"] == ev["n"]
    assert any("95% lower bound" in c["check"] for c in report["gates"]["checks"])
    assert not (out / "adapter").exists() and (out / "rejected-adapter" / "adapter_config.json").is_file()


def test_on_validation_scores_the_validation_split_and_exports_nothing(tmp_path, tiny_base):
    """Recipe picking never looks at the test split: --on-validation scores the validation
    split in its place, and what it trains is never exported (so it never serves)."""
    from tests.training.test_lora import _spec

    path = _spec(tmp_path, tiny_base, training={"max_steps": 2})
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["specialist", "run", str(path), "--output", str(out), "--quiet", "--on-validation"])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    validation = (out / "data" / "validation.jsonl").read_text().splitlines()
    scored = [json.loads(line)["prompt"] for line in (out / "predictions" / "finetuned.jsonl").read_text().splitlines()]
    assert report["scored_split"] == "validation" and report["finetuned"]["n"] == len(validation) != 40
    assert scored == [json.loads(line)["prompt"][:300] for line in validation]
    assert report["gates"]["passed"] and not (out / "adapter").exists() and (out / "rejected-adapter").is_dir()


def test_top_layers_adapts_only_the_top_of_the_model(tmp_path, tiny_base):
    spec = load_spec_file(_tiny_spec(tmp_path, tiny_base, {"top_layers": 1}))
    _, _, model, _ = lora.load_base(spec.base)
    peft = lora.attach_lora(model, spec.lora, spec.base, seed=0)
    last = model.config.num_hidden_layers - 1
    adapted = {n.split(".layers.")[1].split(".")[0] for n, _ in peft.named_parameters() if "lora_A" in n}
    assert adapted == {str(last)}


def _tiny_spec(tmp_path, base, lora_over):
    from tests.training.test_lora import _spec

    path = _spec(tmp_path, base)
    data = yaml.safe_load(path.read_text())
    data["lora"].update(lora_over)
    path.write_text(yaml.safe_dump(data))
    return path


def test_local_test_says_what_it_runs():
    from cadre.cli.specialist import local_test_notice

    spec = load_specialist("sentiment").for_local_test()
    text = local_test_notice(spec)
    assert "local test: a fixed sample (seed 42) of 256 training and 200 test examples, 2 epoch(s)" in text
    assert "without --local-test" in text
    assert CATALOG_DIR.is_dir()


def test_team_router_rows_are_the_specialists_own_prompts(tmp_path):
    from cadre.data import load_examples
    from cadre.training.lora.team import demo_team_rows, write_router_qa

    rows = demo_team_rows(("sql", "spam"), 5)
    assert [label for _, label in rows] == ["sql"] * 5 + ["spam"] * 5
    assert all(t.startswith("Database schema: ") and t.endswith("Write one SQL query that answers it.")
               for t, label in rows if label == "sql")
    assert all(t.startswith("SMS message: ") for t, label in rows if label == "spam")
    examples = load_examples(write_router_qa(rows, tmp_path / "team.txt"))
    assert [e.label for e in examples] == [label for _, label in rows]
