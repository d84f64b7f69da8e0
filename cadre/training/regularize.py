"""Two regularisers for small routers trained from scratch (on by default for `--type router`):

- subword dropout: each epoch, a seeded share of a prompt's tokens is split in two and
  re-tokenised, so the model sees `Ġfun|ction` as well as `Ġfunction` and learns the
  pieces of rare and misspelt words (the idea of BPE-dropout, Provilkov et al. 2020,
  made deterministic so an interrupted run resumes exactly);
- a cross-fitted teacher: TF-IDF (word + character n-grams) + logistic regression,
  fitted on the training split only, gives every training example the class
  probabilities it gets when held out (5-fold). Distilling them (Hinton et al. 2015)
  tells the student which examples are near misses instead of making it memorise them.

The nano distillation recipe's pieces live here too: word dropout, length-bucketed
batches, the mixed loss, and a trained router as the teacher (with unlabelled texts).
"""
from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path

from cadre.console import note, warn
from cadre.errors import CadreError

TEACHERS = ("auto", "none", "tfidf", "router:<folder>", "given")  # given: probabilities passed in (no resume)
TEACHER_FOLDS = 5


def subword_dropout(tok, ids: list[int], p: float, rng: random.Random, max_len: int | None = None) -> list[int]:
    """Split a share `p` of the body tokens of `<|bos|><|q|> ... <|a|>` at a random
    character and re-tokenise each half; the text it decodes to is unchanged. When the
    result would outgrow `max_len` (the model's context), the ids come back as they were."""
    if p <= 0 or len(ids) <= 3:
        return ids
    body = []
    for token_id in ids[2:-1]:
        piece = tok.id_to_token(token_id)
        if len(piece) > 1 and rng.random() < p:
            cut = rng.randrange(1, len(piece))
            body += [t.id for half in (piece[:cut], piece[cut:]) for t in tok.model.tokenize(half)]
        else:
            body.append(token_id)
    out = ids[:2] + body + ids[-1:]
    return ids if max_len is not None and len(out) > max_len else out


def drop_words(text: str, p: float, rng: random.Random) -> str:
    """Drop each word with probability p (never all of them)."""
    if p <= 0:
        return text
    words = text.split()
    kept = [w for w in words if rng.random() >= p]
    return " ".join(kept or words)


def length_buckets(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding: about twice the examples per second on
    a CPU), in random order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def mixed_loss(logits, gold, soft, alpha: float):
    """(1 - alpha) · CE(logits, gold) + alpha · CE(logits, teacher); an example whose gold
    is IGNORE (an unlabelled transfer text) carries the teacher term only."""
    import torch.nn.functional as F

    from cadre.encoding import IGNORE

    labelled = gold != IGNORE
    hard = F.cross_entropy(logits[labelled], gold[labelled]) if labelled.any() else logits.sum() * 0.0
    if soft is None or alpha <= 0:
        return hard
    return (1 - alpha) * hard + alpha * -(soft * F.log_softmax(logits, dim=-1)).sum(-1).mean()


def teacher_probabilities(texts: Sequence[str], labels: Sequence[int], n_classes: int, seed: int = 0,
                          quiet: bool = True):
    """Held-out (cross-fitted) class probabilities, shape (N, n_classes), or None when a
    class has too few examples to hold any out."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    counts = np.bincount(np.asarray(labels), minlength=n_classes)
    folds = min(TEACHER_FOLDS, int(counts.min()))
    if folds < 2:
        warn("no distillation teacher: a class has fewer than 2 training examples")
        return None
    started = time.perf_counter()
    if not quiet:
        note(f"fitting the distillation teacher (TF-IDF + logistic regression, {folds}-fold) on {len(texts)} examples")
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    probs = cross_val_predict(_tfidf_model(), list(texts), np.asarray(labels), cv=split, method="predict_proba")
    held_out = float((probs.argmax(1) == np.asarray(labels)).mean())
    if not quiet:
        note(f"teacher held-out accuracy {held_out:.4f} ({time.perf_counter() - started:.0f} s)")
    return probs.astype("float32")


def tfidf_features():
    """Word 1-2-gram and character 2-5-gram TF-IDF, side by side (unfitted)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    return make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                      TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))


def _tfidf_model():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(tfidf_features(), LogisticRegression(C=20.0, max_iter=3000))


# ----------------------------------------------------------------------------- a router as the teacher
def router_teacher(teacher_dir: str, examples, classes: list[str], unlabeled: str | None):
    """A trained router's probabilities for the training examples and for the unlabelled
    transfer texts: (probs (N, C), texts, probs (M, C))."""
    from cadre.routing import load_router

    teacher = load_router(teacher_dir)
    texts = [ex.question for ex in examples]
    extra = unlabeled_texts(Path(unlabeled)) if unlabeled else []
    return (teacher_probs(teacher, teacher_dir, texts, classes), extra,
            teacher_probs(teacher, teacher_dir, extra, classes) if extra else None)


def teacher_probs(teacher, teacher_dir, texts, classes):
    """The teacher's probabilities for texts, columns in the student's class order."""
    import numpy as np

    missing = sorted(set(classes) - set(teacher.labels))
    if missing:
        raise CadreError(f"{teacher_dir}: the teacher lacks route(s) {missing} of the training data")
    probs = np.asarray(teacher.score_batch(texts))[:, [teacher.labels.index(c) for c in classes]]
    return probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-9, None)


def unlabeled_texts(path: Path) -> list[str]:
    """Texts one per line (.txt), or the texts of any data file cadre reads."""
    from cadre.data import load_examples
    from cadre.data.examples import read_text_file

    if path.suffix.lower() in {".txt", ".lines"} and not read_text_file(path).lstrip().startswith("Q:"):
        return [line.strip() for line in read_text_file(path).splitlines() if line.strip()]
    return [ex.question for ex in load_examples(path)]
