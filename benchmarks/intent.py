"""Intent routing on Banking77 (test accuracy) and CLINC150 (test in-scope accuracy and
out-of-scope recall): nano, embedding, ensemble and a TF-IDF + LinearSVC baseline, side
by side, with single-request latency on one core, batched throughput and model size.

    .venv/bin/python benchmarks/intent.py [--quick] [--nano-epochs N] [--target-precision P]

CLINC thresholds are fitted on CLINC's val split (never test). MiniLM vectors are cached
by content hash (they are a pure function of the text), so a re-run skips encoding.
`--quick` subsamples every split for development; its figures are not comparable.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _report import table, write_section  # noqa: E402

from cadre.evaluation.intent import latency, quality  # noqa: E402

CACHE = Path.home() / ".cache" / "cadre" / "bench_minilm"
TARGETS = (0.95, 0.96, 0.97, 0.975, 0.98)
TEACHERS: dict = {}  # dataset -> the fitted ensemble (with out-of-fold margins): the nano's teacher


@dataclass
class Split:
    texts: list[str]
    labels: list[str]
    vectors: np.ndarray | None = None


@dataclass
class Result:
    kind: str
    scores: dict = field(default_factory=dict)  # dataset -> quality dict
    timing: dict = field(default_factory=dict)  # p50/p99/throughput/size/train_s
    tradeoff: list = field(default_factory=list)  # CLINC rows at several target precisions


def load_data() -> dict[str, dict[str, Split]]:
    """Banking77 train/test and CLINC150 train/val/test (with their oos rows)."""
    from cadre.data.intents import load_banking77, load_clinc150

    def split(examples):
        return Split([e.question for e in examples], [e.label for e in examples])

    return {"banking77": {"train": split(load_banking77("train")), "test": split(load_banking77("test"))},
            "clinc150": {s: split(load_clinc150(s)) for s in ("train", "val", "test")}}


def subsample(data, step: int) -> None:
    """Keep every `step`-th row of every split (for --quick)."""
    for splits in data.values():
        for s in splits.values():
            s.texts, s.labels, s.vectors = s.texts[::step], s.labels[::step], s.vectors[::step]


def embed_all(data) -> float:
    """MiniLM vectors for every split (cached by content hash); returns seconds spent encoding."""
    from cadre.encoders.text import encode_texts

    spent = 0.0
    CACHE.mkdir(parents=True, exist_ok=True)
    for splits in data.values():
        for s in splits.values():
            key = hashlib.sha256("\x00".join(s.texts).encode()).hexdigest()[:24]
            path = CACHE / f"{key}.npy"
            if path.is_file():
                s.vectors = np.load(path)
                continue
            start = time.perf_counter()
            s.vectors = encode_texts(s.texts, batch_size=64)
            spent += time.perf_counter() - start
            np.save(path, s.vectors)
    return spent


def folder_mb(folder: Path) -> float:
    """Size of a router folder's files, in MB."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / 1e6


def speed(router, texts: list[str], samples: int, batch: int = 256) -> dict:
    """p50/p99 single-request latency (ms) and batched throughput (texts/s) through route()."""
    single = latency(router, texts, samples=samples, warmup=5)
    chunk = texts[:batch * 2]
    start = time.perf_counter()
    for i in range(0, len(chunk), batch):
        router.route_batch(chunk[i:i + batch])
    single["throughput_per_s"] = len(chunk) / (time.perf_counter() - start)
    return single


def judge(router, split: Split, thresholds: dict | None = None, **score_kw) -> dict:
    """Quality on a split from one batched scoring call (precomputed vectors where the router takes them)."""
    probs = np.asarray(router.score_batch(split.texts, **score_kw))
    choices = [router.decide(t, dict(zip(router.labels, map(float, row)))) for t, row in zip(split.texts, probs)]
    return quality(split.labels, [c.name for c in choices])


def tfidf_router(train: Split):
    """The baseline as a Router: TF-IDF (word + char n-grams) + LinearSVC, softmax(5 · margins)."""
    from cadre.routing.base import Router
    from cadre.routing.intent.embedding import softmax
    from cadre.routing.intent.ensemble_fit import fit_linear
    from cadre.routing.store import canonical_labels

    labels = canonical_labels(train.labels)
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    tfidf, W, b = fit_linear(train.texts, np.zeros((len(y), 0), dtype=np.float32), y, len(classes), 0.5, 0.0)

    Wt = np.ascontiguousarray(W.T)  # (V, C)

    class TfidfSvc(Router):
        kind = "tfidf"

        def score_batch(self, texts, **_):
            return softmax((np.asarray(tfidf.transform(texts) @ Wt) + b) * 5.0)

    router = TfidfSvc(classes)
    vocab, idf = tfidf.state()
    router.size_mb = (W.nbytes + b.nbytes + sum(a.nbytes for a in idf.values())
                      + len(repr(vocab).encode())) / 1e6  # as ensemble-style files would store it
    return router


def calibrate_on(router, val: Split, target: float, per_route: bool, **score_kw) -> dict:
    """Thresholds fitted on validation data (CLINC val), set on the router."""
    from cadre.routing.intent.calibration import fit_thresholds

    probs = np.asarray(router.score_batch(val.texts, **score_kw))
    thresholds = fit_thresholds(probs, val.labels, router.labels, target, per_route=per_route)
    router.set_thresholds(thresholds)
    return thresholds


def tradeoff(router, val: Split, test: Split, targets) -> list[list]:
    """CLINC in-scope accuracy and OOS recall at several target precisions (one pooled
    threshold), for a router that scores precomputed MiniLM vectors."""
    from cadre.routing.intent.calibration import apply_thresholds, fit_thresholds

    pva = np.asarray(router.score_batch(val.texts, vectors=val.vectors))
    pte = np.asarray(router.score_batch(test.texts, vectors=test.vectors))
    rows = []
    for target in targets:
        th = fit_thresholds(pva, val.labels, router.labels, target, per_route=False)
        q = quality(test.labels, apply_thresholds(pte, router.labels, th))
        v = quality(val.labels, apply_thresholds(pva, router.labels, th))
        rows.append([target, round(q["in_scope_accuracy"], 4), round(q["oos_recall"], 3),
                     round(v["in_scope_accuracy"], 4), round(v["oos_recall"], 3)])
    return rows


def run_tfidf(data, args) -> Result:
    res = Result("TF-IDF + LinearSVC (baseline)")
    for name, splits in data.items():
        start = time.perf_counter()
        router = tfidf_router(splits["train"])
        res.timing.setdefault("train_s", {})[name] = time.perf_counter() - start
        res.scores[name] = judge(router, splits["test"])
        if name == "banking77":
            res.timing.update(speed(router, splits["test"].texts, args.samples), size_mb=router.size_mb)
    return res


def run_embedding(data, args, tmp: Path) -> Result:
    from cadre.routing.intent.embedding import EmbeddingRouter

    res = Result("embedding (MiniLM + logistic regression)")
    for name, splits in data.items():
        start = time.perf_counter()
        router = EmbeddingRouter.fit(splits["train"].texts, splits["train"].labels, head="logreg",
                                     vectors=splits["train"].vectors, epochs=60, lr=1e-2)
        res.timing.setdefault("train_s", {})[name] = time.perf_counter() - start
        if "val" in splits:
            calibrate_on(router, splits["val"], args.target_precision, args.per_route, vectors=splits["val"].vectors)
        res.scores[name] = judge(router, splits["test"], vectors=splits["test"].vectors)
        if name == "banking77":
            router.save(tmp / "embedding")
            res.timing.update(speed(router, splits["test"].texts, args.samples), size_mb=folder_mb(tmp / "embedding"))
    return res


def run_ensemble(data, args, tmp: Path) -> Result:
    from cadre.routing.intent.ensemble import EnsembleRouter

    res = Result("ensemble (MiniLM ⊕ TF-IDF, LinearSVC; OOS detector)")
    for name, splits in data.items():
        start = time.perf_counter()
        router = EnsembleRouter.fit(splits["train"].texts, splits["train"].labels, vectors=splits["train"].vectors,
                                    keep_oof=True)
        TEACHERS[name] = router
        res.timing.setdefault("train_s", {})[name] = time.perf_counter() - start
        if "val" in splits:
            res.tradeoff = tradeoff(router, splits["val"], splits["test"], TARGETS)
            calibrate_on(router, splits["val"], args.target_precision, args.per_route, vectors=splits["val"].vectors)
        res.scores[name] = judge(router, splits["test"], vectors=splits["test"].vectors)
        if name == "banking77":
            router.save(tmp / "ensemble")
            res.timing.update(speed(router, splits["test"].texts, args.samples), size_mb=folder_mb(tmp / "ensemble"))
    return res


def teacher(name: str, data, args) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The nano's teacher, the ensemble: out-of-fold probabilities on the training texts,
    and unlabelled transfer texts (the other data set's training texts) with its
    probabilities for them."""
    from cadre.routing.intent.embedding import softmax
    from cadre.routing.intent.ensemble import EnsembleRouter

    train = data[name]["train"]
    if name not in TEACHERS:
        TEACHERS[name] = EnsembleRouter.fit(train.texts, train.labels, vectors=train.vectors, keep_oof=True)
    router = TEACHERS[name]
    other = next(v["train"] for k, v in data.items() if k != name)
    pick = np.random.default_rng(0).permutation(len(other.texts))[:args.transfer]
    texts = [other.texts[i] for i in pick]
    margins, _ = router.margins(texts, other.vectors[pick])
    return softmax(router.oof_margins * args.teacher_temperature), texts, softmax(margins * args.teacher_temperature)


def run_nano(data, args, tmp: Path) -> Result:
    import torch

    from cadre.routing.intent.fit import finish_nano
    from cadre.routing.intent.nano import NanoRouter
    from cadre.routing.store import canonical_labels
    from cadre.training.distill import DistillConfig, train_router

    torch.set_num_threads(args.train_threads)
    distill = args.alpha > 0
    res = Result(f"nano ({args.nano_size}, ONNX Runtime{', distilled from the ensemble' if distill else ''})")
    for name, splits in data.items():
        start = time.perf_counter()
        train = splits["train"]
        soft, transfer, transfer_soft = teacher(name, data, args) if distill else (None, (), None)
        cfg = DistillConfig(model_size=args.nano_size, epochs=args.nano_epochs, alpha=args.alpha,
                            word_dropout=args.word_dropout)
        folder = tmp / f"nano_{name}"
        train_router(train.texts, canonical_labels(train.labels), folder, soft, cfg,
                     progress=lambda e, loss: print(f"  nano {name} epoch {e} loss {loss:.3f}", flush=True),
                     unlabeled=transfer, unlabeled_teacher=transfer_soft)
        finish_nano(folder)
        res.timing.setdefault("train_s", {})[name] = time.perf_counter() - start
        torch.set_num_threads(1)
        router = NanoRouter.load(folder)
        if "val" in splits:
            calibrate_on(router, splits["val"], args.target_precision, args.per_route)
        res.scores[name] = judge(router, splits["test"])
        if name == "banking77":
            res.timing.update(speed(router, splits["test"].texts, args.samples), size_mb=folder_mb(folder))
        torch.set_num_threads(args.train_threads)
    return res


def render(results: list[Result], args, encode_s: float) -> str:
    """The side-by-side table and its notes."""
    rows = []
    for r in results:
        b, c, t = r.scores.get("banking77", {}), r.scores.get("clinc150", {}), r.timing
        rows.append([r.kind, _f(b.get("accuracy")), _f(c.get("in_scope_accuracy")), _f(c.get("oos_recall")),
                     _f(c.get("accuracy")), _f(t.get("p50_ms"), 2), _f(t.get("p99_ms"), 2),
                     _f(t.get("throughput_per_s"), 0), _f(t.get("size_mb"), 1),
                     " / ".join(f"{v:.0f}" for v in t.get("train_s", {}).values())])
    headers = ["router", "Banking77 acc", "CLINC in-scope acc", "CLINC OOS recall", "CLINC acc (all)",
               "p50 ms", "p99 ms", "batched /s", "size MB", "train s (B77 / CLINC)"]
    notes = [
        "",
        "- Test splits: Banking77 test (3,080); CLINC150 test (4,500 in-scope + 1,000 oos). CLINC routers train on "
        "train + oos_train (150 intents + `oos`); their thresholds are fitted on CLINC val + oos_val, never on test: "
        f"one pooled threshold at target precision {args.target_precision} (an operating point chosen after looking "
        "at an earlier run's curve, so the neighbouring points are listed below). An in-scope text that a router "
        "rejects counts as wrong; the TF-IDF baseline has no threshold (its `oos` class alone).",
        "- embedding: frozen MiniLM vectors + logistic regression. ensemble: [TF-IDF word 1-2 + char 2-5 grams | "
        "2 × MiniLM] → LinearSVC (C 0.5), softmax(T · margins); on CLINC an out-of-scope detector (logistic "
        "regression on margins, probabilities and nearest-utterance similarities, cross-fitted on train) scales "
        "the route scores.",
        f"- nano: the 2-layer, width-96 Llama classifier ({args.nano_size} preset) trained from scratch by "
        "`cadre.training.distill`: length-bucketed batches, word dropout "
        f"{args.word_dropout} and subword dropout 0.1 (the default), loss (1 − {args.alpha}) · CE(gold) + {args.alpha} · CE(teacher), where the teacher "
        f"is the ensemble's out-of-fold softmax({args.teacher_temperature} · margins); {args.transfer} unlabelled "
        "transfer texts (the other data set's training texts, teacher labels only) are added; "
        f"{args.nano_epochs} epochs. Its train time excludes fitting the teacher (the ensemble row).",
        "- Latency: one request at a time through `route()` after 5 warm-up calls, on the Banking77 router, with "
        "torch and ONNX Runtime limited to one thread; batched: 512 texts in batches of 256. Embedding and "
        "ensemble latency include encoding the text with MiniLM (torch, one thread). Measured with the 2-core "
        "machine otherwise idle (`os.getloadavg` is not recorded; rerun to compare).",
        f"- MiniLM vectors for the quality figures come from one batched pass, cached by content "
        f"({encode_s:.0f} s spent encoding in this run). Size: the saved router folder (nano: safetensors + ONNX; "
        "the baseline: its weights and vocabularies as they would be stored).",
    ]
    body = table(headers, rows) + "\n" + "\n".join(notes)
    for r in results:
        if r.tradeoff:
            body += (f"\n\nCLINC150 operating points of the {r.kind.split(' (')[0]} router (one pooled threshold "
                     "fitted on val to each target precision):\n\n")
            body += table(["target precision", "test in-scope acc", "test OOS recall", "val in-scope acc",
                           "val OOS recall"], r.tradeoff)
    return body


def _f(value, digits: int = 4):
    if value is None:
        return "–"
    return round(float(value), digits) if digits else int(round(float(value)))


def main(argv=None) -> None:
    """Run every router on both datasets and write the table."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Subsample every split (development only).")
    parser.add_argument("--nano-epochs", type=int, default=12)
    parser.add_argument("--nano-size", default="nano")
    parser.add_argument("--alpha", type=float, default=0.7, help="Distillation weight (0: plain training).")
    parser.add_argument("--teacher-temperature", type=float, default=5.0)
    parser.add_argument("--word-dropout", type=float, default=0.1)
    parser.add_argument("--transfer", type=int, default=6000,
                        help="Unlabelled transfer texts for distillation (from the other data set's train split).")
    parser.add_argument("--target-precision", type=float, default=0.97)
    parser.add_argument("--per-route", action="store_true",
                        help="Per-route thresholds (shrunk toward the pooled one) instead of one pooled threshold.")
    parser.add_argument("--samples", type=int, default=300, help="Single requests timed per router.")
    parser.add_argument("--train-threads", type=int, default=1)
    parser.add_argument("--skip", default="", help="Comma-separated kinds to skip: tfidf,embedding,ensemble,nano.")
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = load_data()
    encode_s = embed_all(data)
    if args.quick:
        subsample(data, 10)
    print(f"MiniLM encoding: {encode_s:.0f} s", flush=True)
    skip = set(filter(None, args.skip.split(",")))
    runners = {"tfidf": run_tfidf, "embedding": run_embedding, "ensemble": run_ensemble, "nano": run_nano}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, runner in runners.items():
            if kind in skip:
                continue
            start = time.perf_counter()
            results.append(runner(data, args) if kind == "tfidf" else runner(data, args, Path(tmp)))
            print(f"{kind}: {results[-1].scores} {results[-1].timing} ({time.perf_counter() - start:.0f} s)", flush=True)
    body = render(results, args, encode_s)
    print(body)
    if not args.no_write and not args.quick:
        command = "python benchmarks/intent.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section("Intent routing: Banking77 and CLINC150", body, command.strip())


if __name__ == "__main__":
    main()
