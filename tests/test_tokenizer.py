from cadre.tokenizer import SPECIAL_TOKENS, hf_tokenizer, load_tokenizer, save_tokenizer, train_tokenizer

TEXTS = ["draw me a picture of a dog", "write a Python function", "what do you see",
         "translate this to French", "solve 2x + 3 = 7"] * 20


def test_training_is_deterministic(tmp_path):
    a = save_tokenizer(train_tokenizer(TEXTS, 400), tmp_path / "a").read_text()
    b = save_tokenizer(train_tokenizer(TEXTS, 400), tmp_path / "b").read_text()
    assert a == b


def test_shipped_tokenizer_loads_in_transformers_and_encodes_anything():
    tok = hf_tokenizer()
    for token in SPECIAL_TOKENS:
        assert tok.convert_tokens_to_ids(token) != tok.unk_token_id or token == "<|unk|>"
    text = "Résumé 東京 🙂 [E:tool]code"
    ids = tok(text)["input_ids"]
    assert tok.decode(ids) == text
    fast = load_tokenizer()
    assert "[E:tool]" in fast.encode(text).tokens  # special tokens stay whole
