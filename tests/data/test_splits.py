from cadre.data.examples import Example
from cadre.data.splits import dedupe, train_val_split


def _examples():
    return [Example(question=f"request number {i} about {label}", label=label)
            for label in ("a", "b", "c") for i in range(20)]


def test_near_duplicates_are_dropped():
    examples = [Example("Draw a cat!", label="image"), Example("draw   a cat", label="image"),
                Example("draw a cat", label="chat")]
    kept, dropped = dedupe(examples)
    assert dropped == 1 and [e.label for e in kept] == ["image", "chat"]


def test_split_is_deterministic_stratified_and_order_free():
    examples = _examples()
    train, val = train_val_split(examples, 0.2, seed=3)
    train2, val2 = train_val_split(list(reversed(examples)), 0.2, seed=3)
    assert {e.question for e in val} == {e.question for e in val2}
    assert sorted(e.label for e in val) == ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    assert not {e.question for e in val} & {e.question for e in train}
    _, val3 = train_val_split(examples, 0.2, seed=4)
    assert {e.question for e in val3} != {e.question for e in val}
