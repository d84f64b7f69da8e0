"""`cadre tokenizer train`: the shared byte-level BPE tokenizer."""
from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from cadre.cli.verbs import verb


@verb("train", group="tokenizer")
def train(data: List[Path] = typer.Option(..., "--data", help="Data files (Q/A text, CSV or JSONL); repeat for several."),
          vocab_size: int = typer.Option(8192, help="Vocabulary size, special tokens included."),
          output: Path = typer.Option(..., help="Folder to write tokenizer.json into.")) -> None:
    """Train the shared tokenizer deterministically on the given files."""
    from cadre.data import load_examples
    from cadre.tokenizer import corpus_texts, save_tokenizer, train_tokenizer

    examples = [ex for path in data for ex in load_examples(path)]
    tok = train_tokenizer(corpus_texts(examples), vocab_size)
    path = save_tokenizer(tok, output)
    typer.echo(f"wrote {path} ({tok.get_vocab_size()} tokens from {len(examples)} examples)")


@verb("encode", group="tokenizer")
def encode(text: str, tokenizer: Path = typer.Option(None, help="Tokenizer folder (default: the shipped one).")) -> None:
    """Show how the shared tokenizer splits a text."""
    from cadre.tokenizer import load_tokenizer

    enc = load_tokenizer(str(tokenizer) if tokenizer else None).encode(text)
    typer.echo(f"{len(enc.ids)} tokens: {enc.tokens}")
