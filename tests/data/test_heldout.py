"""The bundled held-out files parse and share no question with the training files."""
import json
from pathlib import Path

from cadre.data import load_examples
from cadre.scoreboard.heldout import JOBS, load_heldout

DATA = Path(__file__).resolve().parents[2] / "data"


def _training_questions(name: str) -> set[str]:
    return {ex.question.strip().lower() if hasattr(ex, "question") else str(ex).lower()
            for ex in load_examples(DATA / "specialized" / f"{name}_training.txt")}


def test_every_heldout_file_parses_with_enough_examples():
    sizes = {job: len(load_heldout(DATA / "heldout", job)) for job in JOBS}
    assert sizes == {"intent": 40, "code": 24, "math": 20, "vision": 20}
    labels = {r["label"] for r in load_heldout(DATA / "heldout", "intent")}
    assert len(labels) == 10


def test_heldout_questions_are_not_training_questions():
    fields = {"intent": ("router", "text", ""), "code": ("code", "prompt", ""),
              "math": ("math", "problem", ""), "vision": ("vision", "features", "[E:vision] ")}
    for job, (train, key, prefix) in fields.items():
        seen = _training_questions(train)
        rows = [json.loads(line) for line in (DATA / "heldout" / JOBS[job][0]).read_text().splitlines()]
        clashes = [r[key] for r in rows if (prefix + r[key]).strip().lower() in seen]
        assert not clashes, f"{job}: {clashes}"


def test_a_limit_covers_the_intent_labels_evenly():
    rows = load_heldout(DATA / "heldout", "intent", limit=10)
    assert len({r["label"] for r in rows}) == 10
