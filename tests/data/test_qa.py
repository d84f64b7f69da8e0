import pytest

from cadre.data import load_examples
from cadre.data.qa import parse_qa
from cadre.errors import CadreError

SEED_TEXT = '''Q: draw me a picture of a dog
A: [E:tool]image

Q: [E:vision] cat, sleeping, couch, living room
A: There's a cat sleeping on a couch in what appears to be a living room.

Q: write a Python function to sort a list
A: Here's a function to sort a list:
```python
def sort_list(items):

    return sorted(items)
```

Q: [TASK:code] write a sort function
A: def sort_list(items): return sorted(items)
'''


def test_seed_format_parsed_exactly():
    router, vision, code, task = parse_qa(SEED_TEXT, "seed.txt")
    assert router.label == "image" and router.question == "draw me a picture of a dog"
    assert vision.features == ["cat", "sleeping", "couch", "living room"] and vision.label is None
    assert code.answer.startswith("Here's a function") and code.answer.endswith("```")
    assert "\n\n    return sorted(items)" in code.answer  # a blank line inside a fence stays
    assert task.task == "code" and task.question == "write a sort function"
    assert code.source == "seed.txt:7"


def test_multi_line_answer_without_fence():
    (ex,) = parse_qa("Q: hi\nA: line one\nline two\n", "f")
    assert ex.answer == "line one\nline two"


@pytest.mark.parametrize("text, message", [
    ("A: [E:tool]chat\n", "f:1: A: without a Q:"),
    ("Q: one\n\nQ: two\nA: x\n", "f:1: Q: without an A:"),
    ("Q: dangling\n", "f:1: Q: without an A:"),
    ("hello\nQ: a\nA: b\n", "f:1: expected 'Q:'"),
    ("Q: x\nA: [E:tool]\n", "f:1: empty intent"),
])
def test_malformed_text_names_file_and_line(text, message):
    with pytest.raises(CadreError, match=message):
        parse_qa(text, "f")


def test_file_errors(tmp_path):
    with pytest.raises(CadreError, match="not found"):
        load_examples(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(CadreError, match="empty"):
        load_examples(tmp_path / "empty.txt")
    (tmp_path / "latin.txt").write_bytes("Q: ok\nA: fine\n\nQ: caf\xe9\n".encode("latin-1"))
    with pytest.raises(CadreError, match=r"latin.txt:4: not valid UTF-8"):
        load_examples(tmp_path / "latin.txt")


def test_tables(tmp_path):
    (tmp_path / "a.csv").write_text("text,category\nwhere is my card,card_arrival\n")
    (tmp_path / "b.jsonl").write_text('{"question": "2+2", "answer": "4"}\n\n')
    (tmp_path / "c.jsonl").write_text('{"question": "2+2"\n')
    (tmp_path / "d.csv").write_text("foo,bar\n1,2\n")
    assert load_examples(tmp_path / "a.csv")[0].label == "card_arrival"
    assert load_examples(tmp_path / "b.jsonl")[0].answer == "4"
    with pytest.raises(CadreError, match="c.jsonl:1: invalid JSON"):
        load_examples(tmp_path / "c.jsonl")
    with pytest.raises(CadreError, match=r"d.csv:2: needs columns text,label"):
        load_examples(tmp_path / "d.csv")
