"""`response_format` for local Hugging Face models: constrained decoding with
lm-format-enforcer (PyPI `lm-format-enforcer`).

At each step only the tokens that keep the output a valid prefix of JSON matching the
schema may be picked; the end-of-text token is allowed once the JSON is complete. The
library's transformers integration does not import under transformers 5, so the
tokenizer table it needs is built here with the same recipe, through its public core
(`TokenEnforcerTokenizerData`, `TokenEnforcer`, `JsonSchemaParser`).
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

from cadre.errors import CadreError

_TABLES: dict[int, object] = {}
_TABLES_LOCK = threading.Lock()


def available() -> bool:
    """Whether lm-format-enforcer is installed."""
    try:
        import lmformatenforcer  # noqa: F401
    except ImportError:
        return False
    return True


def schema_of(response_format: dict) -> dict | None:
    """The JSON schema a response_format asks for (None: any JSON object)."""
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        return spec.get("schema") or None
    if response_format.get("type") == "json_object":
        return {"type": "object"}
    raise CadreError(f"response_format type {response_format.get('type')!r} is not supported")


def tokenizer_table(tokenizer):
    """lm-format-enforcer's per-tokenizer table (built once per tokenizer: a few seconds)."""
    from lmformatenforcer import TokenEnforcerTokenizerData

    with _TABLES_LOCK:
        table = _TABLES.get(id(tokenizer))
        if table is None:
            vocab = len(tokenizer)
            regular = _regular_tokens(tokenizer, vocab)
            decode = functools.partial(_decode, tokenizer)
            table = TokenEnforcerTokenizerData(regular, decode, tokenizer.eos_token_id, False, vocab)
            _TABLES[id(tokenizer)] = table
        return table


def _regular_tokens(tokenizer, vocab: int) -> list[tuple[int, str, bool]]:
    """(id, text, starts a word) for every non-special token: the library's own recipe."""
    zero = tokenizer.encode("0", add_special_tokens=False)[-1]
    special = set(tokenizer.all_special_ids)
    out = []
    for idx in range(vocab):
        if idx in special:
            continue
        after_zero = tokenizer.decode([zero, idx])[1:]
        alone = tokenizer.decode([idx])
        out.append((idx, after_zero, len(after_zero) > len(alone)))
    return out


def _decode(tokenizer, tokens: list[int]) -> str:
    return tokenizer.decode(tokens).rstrip("\ufffd")


def constrained_ids(model, tokenizer, input_ids: list[int], max_tokens: int, response_format: dict,
                    temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None) -> Iterator[int]:
    """Generated token ids, each one allowed by the schema; ends at a complete JSON value."""
    import torch
    from lmformatenforcer import JsonSchemaParser, TokenEnforcer

    from cadre.generation import sample_next

    try:
        enforcer = TokenEnforcer(tokenizer_table(tokenizer), JsonSchemaParser(schema_of(response_format)))
    except CadreError:
        raise
    except Exception as exc:  # the library's own errors: an unsupported or broken schema
        raise CadreError(f"response_format: cannot constrain to this schema ({type(exc).__name__}: "
                         f"{str(exc)[:120] or 'invalid'})") from None
    eos = tokenizer.eos_token_id
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    ids, past, produced = torch.tensor([input_ids]), None, []
    with torch.no_grad():
        for _ in range(max_tokens):
            out = model(input_ids=ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            allowed = _allowed(enforcer, produced)
            if not allowed:
                return
            logits = out.logits[0, -1]
            mask = torch.full_like(logits, float("-inf"))
            mask[torch.tensor(allowed)] = 0.0
            token = sample_next(logits + mask, temperature, top_p, generator)
            if token == eos:
                return
            produced.append(token)
            yield token
            ids = torch.tensor([[token]])


def _allowed(enforcer, produced: list[int]) -> list[int]:
    try:
        return enforcer.get_allowed_tokens(produced).allowed_tokens
    except Exception as exc:  # a schema construct the library fails on mid-way
        raise CadreError(f"response_format: constrained decoding failed ({type(exc).__name__}: "
                         f"{str(exc)[:120] or 'invalid'})") from None
