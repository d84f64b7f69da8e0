"""Intent routers on small data sets nobody tuned them for: 64 intents, a few thousand short
utterances, no out-of-scope examples, the shape of the set the maintainers hold back.

    .venv/bin/python benchmarks/intent_unseen.py [--seeds 3] [--per-class 50] [--intents 64]

Each seed draws `--intents` intents at random from CLINC150 (in scope only) and from
Banking77, and `--per-class` training utterances of each from the training split; the test
split is every test utterance of those intents. Seeds vary both draws, so no two seeds see the
same task. On each, side by side:
- the plain baselines the maintainers fitted: MiniLM vectors + scikit-learn's
  LogisticRegression with its defaults, and TfidfVectorizer + LinearSVC with theirs;
- cadre's kinds, each what `cadre router train --kind KIND` builds with its defaults, and
  `auto` (the default) with no `--val` (5-fold CV on the training data, the no-OOS guard).
Accuracy counts a guard rejection as wrong. MiniLM vectors are cached by content, as in
benchmarks/intent.py.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _report import table, write_section  # noqa: E402
from intent import NAMES, Split, embed_all, fit, judge, load_data  # noqa: E402

from cadre.labels import is_out_of_scope  # noqa: E402

KINDS = ("tfidf", "embedding", "ensemble", "fast", "cascade", "auto")
PLAIN = {"plain_lr": "plain MiniLM + LogisticRegression() (maintainers' baseline)",
         "plain_svc": "plain TfidfVectorizer() + LinearSVC() (maintainers' baseline)"}
SOURCES = ("clinc150", "banking77")


def draw(splits: dict[str, Split], intents: int, per_class: int, seed: int) -> tuple[Split, Split]:
    """`intents` in-scope intents, `per_class` training rows each, every test row of them."""
    rng = np.random.default_rng(seed)
    names = sorted({label for label in splits["train"].labels if not is_out_of_scope(label)})
    chosen = set(rng.choice(names, size=min(intents, len(names)), replace=False).tolist())
    train_labels = np.array(splits["train"].labels)
    rows = []
    for label in sorted(chosen):
        idx = rng.permutation(np.where(train_labels == label)[0])
        rows.extend(idx[:per_class])
    test_rows = [i for i, label in enumerate(splits["test"].labels) if label in chosen]
    return splits["train"].take(np.sort(np.array(rows))), splits["test"].take(np.array(test_rows))


def plain(kind: str, train: Split, test: Split) -> float:
    """The maintainers' plain baselines: scikit-learn defaults, nothing tuned."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if kind == "plain_lr":
        model = LogisticRegression(max_iter=2000).fit(train.vectors, train.labels)
        return float(np.mean(model.predict(test.vectors) == np.array(test.labels)))
    vec = TfidfVectorizer().fit(train.texts)
    model = LinearSVC().fit(vec.transform(train.texts), train.labels)
    return float(np.mean(model.predict(vec.transform(test.texts)) == np.array(test.labels)))


def task(source: str, seed: int, intents: int, per_class: int, tmp: str) -> dict:
    """Every row on one (source, seed) task: accuracy per row, auto's choice and guard drop."""
    import torch

    torch.set_num_threads(1)
    data = load_data()
    embed_all(data)
    train, test = draw(data[source], intents, per_class, seed)
    out = {"source": source, "seed": seed, "acc": {}, "n_train": len(train.texts), "n_test": len(test.texts)}
    for kind in PLAIN:
        out["acc"][kind] = plain(kind, train, test)
    for kind in KINDS:
        start = time.perf_counter()
        router = fit(kind, train, None, seed, Path(tmp) / f"{source}_{seed}")
        out["acc"][kind] = judge(router, test)["accuracy"]
        if kind == "auto":
            out["choice"] = router.auto.chosen.kind
            out["drop"] = judge(router, test, {})["accuracy"] - out["acc"][kind]
        print(f"seed {seed} {source} {kind}: {out['acc'][kind]:.4f} ({time.perf_counter() - start:.0f} s)",
              flush=True)
    return out


def cell(values) -> str:
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def render(done: list[dict], args, load_before, load_after) -> str:
    rows = []
    for kind in (*PLAIN, *KINDS):
        row = [PLAIN.get(kind) or NAMES[kind]]
        for source in SOURCES:
            row.append(cell([d["acc"][kind] for d in done if d["source"] == source and kind in d["acc"]]))
        rows.append(row)
    summary = []
    for source in SOURCES:
        mine = [d for d in done if d["source"] == source]
        best_plain = [max(d["acc"]["plain_lr"], d["acc"]["plain_svc"]) for d in mine]
        wins = sum(d["acc"]["auto"] >= b for d, b in zip(mine, best_plain))
        summary.append(f"- {source}: auto − best plain baseline {cell([d['acc']['auto'] - b for d, b in zip(mine, best_plain)])}"
                       f" (auto ≥ it on {wins}/{len(mine)} seeds); auto chose {' / '.join(d['choice'] for d in mine)};"
                       f" guard drop {cell([d['drop'] for d in mine])}; {np.mean([d['n_train'] for d in mine]):.0f} train / "
                       f"{np.mean([d['n_test'] for d in mine]):.0f} test rows per seed (mean).")
    headers = ["router", f"CLINC150, {args.intents} intents", f"Banking77, {args.intents} intents"]
    notes = ["", f"- Mean ± sd over {args.seeds} seeds; each seed draws {args.intents} intents and {args.per_class} "
             "training utterances per intent, and tests on every test utterance of those intents. No "
             "out-of-scope data, no `--val`: auto cross-validates on the training rows and applies its no-OOS "
             "guard; a rejection counts as wrong.", *summary,
             f"- Load average (1, 5, 15 min) before: {load_before}, after: {load_after} on {os.cpu_count()} cores; "
             f"{args.jobs} tasks at once, whole run {args.wall_s / 60:.0f} min."]
    return table(headers, rows) + "\n" + "\n".join(notes)


def main(argv=None) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--intents", type=int, default=64)
    parser.add_argument("--per-class", type=int, default=50, help="Training utterances per intent.")
    parser.add_argument("--jobs", type=int, default=2, help="(source, seed) tasks run at once.")
    parser.add_argument("--no-write", action="store_true", help="Print the table only.")
    args = parser.parse_args(argv)
    load_before = tuple(round(x, 1) for x in os.getloadavg())
    embed_all(load_data())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, \
            ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn")) as pool:
        jobs = [(s, seed, args.intents, args.per_class, tmp) for seed in range(args.seeds) for s in SOURCES]
        done = list(pool.map(task, *zip(*jobs)))
    args.wall_s = time.perf_counter() - started
    body = render(done, args, load_before, tuple(round(x, 1) for x in os.getloadavg()))
    print(body)
    if not args.no_write:
        command = "python benchmarks/intent_unseen.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section("Intent routing on unseen small data (64 intents, no OOS)", body, command.strip())


if __name__ == "__main__":
    main()
