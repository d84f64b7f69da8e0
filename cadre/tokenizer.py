"""The shared tokenizer: byte-level BPE (the `tokenizers` library), so any text encodes
without a character fallback. Every model cadre trains carries the same tokenizer.json,
so token ids mean the same thing in every model.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterable

from cadre.errors import CadreError
from cadre.fsutil import atomic_write_text

PAD, BOS, EOS, UNK = "<|pad|>", "<|bos|>", "<|eos|>", "<|unk|>"
Q_MARK, A_MARK = "<|q|>", "<|a|>"  # turn markers of the Q/A format
TASK_MARKERS = ("[TASK:classification]", "[TASK:vision]", "[TASK:code]", "[TASK:math]")
SPECIAL_TOKENS = [PAD, BOS, EOS, UNK, Q_MARK, A_MARK, "[E:tool]", "[E:vision]", *TASK_MARKERS]
DEFAULT_TOKENIZER = Path(__file__).resolve().parent / "assets" / "tokenizer.json"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8192):
    """Train byte-level BPE on texts; deterministic for the same texts in the same order."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    if vocab_size < 300:
        raise CadreError(f"vocab size {vocab_size} is too small; byte-level BPE needs at least 300")
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    return tok


def corpus_texts(examples) -> list[str]:
    """The strings a tokenizer learns from: questions and answers, in file order."""
    return [part for ex in examples for part in (ex.question, ex.answer) if part]


def save_tokenizer(tok, output: str | Path) -> Path:
    """Write tokenizer.json (atomically) into a folder, ready for PreTrainedTokenizerFast."""
    path = Path(output) / "tokenizer.json"
    atomic_write_text(path, tok.to_str(pretty=True))
    return path


def tokenizer_file(path: str | Path | None = None) -> Path:
    """Resolve a tokenizer folder or file; None means the default shipped with cadre."""
    if path is None:
        path = DEFAULT_TOKENIZER
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise CadreError(f"{path}: tokenizer not found")
    return path


@functools.lru_cache(maxsize=8)
def load_tokenizer(path: str | None = None):
    """Load the shared tokenizer as a `tokenizers.Tokenizer` (fast, for training and routing)."""
    from tokenizers import Tokenizer

    file = tokenizer_file(path)
    try:
        tok = Tokenizer.from_file(str(file))
    except Exception as exc:
        raise CadreError(f"{file}: corrupt tokenizer ({str(exc).splitlines()[0]})") from None
    if tok.token_to_id(PAD) is None:
        raise CadreError(f"{file}: not a cadre tokenizer (no {PAD} token)")
    return tok


def hf_tokenizer(path: str | Path | None = None):
    """The shared tokenizer as a transformers PreTrainedTokenizerFast."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_file(path)), pad_token=PAD,
                                   bos_token=BOS, eos_token=EOS, unk_token=UNK)


CUT_MARGIN = 16  # tokens beyond what is kept, so the cut never changes a kept token


def encode_prompt(tok, text: str, budget: int) -> tuple[list[int], bool]:
    """`<|bos|><|q|> text <|a|>` in at most `budget` tokens, keeping the markers when the
    text is cut to fit: returns (ids, truncated). Routers and the trainer share it."""
    room = max(budget - 3, 1)
    body = head_ids(tok, text, room + 1)
    ids = [tok.token_to_id(BOS), tok.token_to_id(Q_MARK), *body[:room], tok.token_to_id(A_MARK)]
    return ids, len(body) > room


def head_ids(tok, text: str, need: int) -> list[int]:
    """The text's ids, or at least its first `need` (plus a margin) when it is longer:
    a growing prefix is encoded instead of the whole text, so a megabyte prompt costs
    what its head costs (encoding all of 1 MB took 2 s)."""
    size = max(256, need * 8)
    while True:
        ids = tok.encode(text[:size]).ids
        if size >= len(text) or len(ids) >= need + CUT_MARGIN:
            return ids
        size *= 4


def tail_ids(encode, text: str, need: int) -> list[int]:
    """As `head_ids`, for the end of a text (`encode`: text -> ids)."""
    size = max(256, need * 8)
    while True:
        ids = encode(text[-size:])
        if size >= len(text) or len(ids) >= need + CUT_MARGIN:
            return ids
        size *= 4


def special_id(tok, token: str) -> int:
    """Id of a special token."""
    return tok.token_to_id(token)
