"""Train the triage model from labelled SMS: ``python -m evy.triage.learn [--corpus DIR] [--splits ...]``.

The examples the agent carries are ``data/learned/examples.jsonl``: the ``train`` and ``dev`` splits of
the labelled corpus (``--corpus DIR`` copies them from the corpus folder; the held-out ``test`` split is
refused by construction), the spent blind sets beside it (``SPENT_BLIND_SETS``: each was scored once, its
figures are in docs/brain.md, and it measures nothing any more), plus, if present, EVY's own labelled SMS in
the same format (``extra.jsonl``).
The model (``model.json``) records the sha256 of the examples and lexicon files it learnt from; a test
fails when they drift apart, so editing a lexicon or the examples means running this again (a few
seconds; needs numpy, a dev tool).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from evy.triage.classify import read
from evy.triage.features import EVIDENCE
from evy.triage.language import FORMAT as LANGUAGE_FORMAT
from evy.triage.language import LANGUAGE_FILE, trigrams
from evy.triage.lexicon import CATEGORIES, Lexicon, compile_lexicon, data_files
from evy.triage.model import FORMAT, MODEL_FILE, parse, trying

LEARNED = Path(__file__).parent / "data" / "learned"
EXAMPLES = ("examples.jsonl", "extra.jsonl")
CORPUS = Path(__file__).resolve().parents[3] / "eval" / "corpus"  # in a source checkout
TRAINING_SPLITS = ("train", "dev")
# Blind sets (eval/<name>/) that have had their one scoring: training text now. A blind set still to be
# scored (eval/blind3) is never read here.
SPENT_BLIND_SETS = ("blind", "blind2")
SKIPPED_KINDS = ("followup",)  # a reply inside a conversation: its meaning is the case's, not its own
MIN_DOCUMENTS = 2  # a feature seen in fewer examples is noise
L2 = 3e-3
EMERGENCY_L2 = 3e-3
STEPS = 400
RATE = 0.05
PRUNE = 0.02  # weights smaller than this are dropped from the file
MIN_LANGUAGE_EXAMPLES = 10  # a language with fewer labelled SMS is left to the markers


def import_corpus(folder: Path, destination: Path = LEARNED / EXAMPLES[0]) -> int:
    """Copy the train and dev messages of the corpus in ``folder`` into ``destination``, and the spent blind
    sets beside it as train; the test split is never read (``load`` is asked for the training splits only)."""
    from dataclasses import replace

    from evy.evaluate.corpus import load  # the corpus format and its situation -> protocol table

    messages = load(folder, TRAINING_SPLITS)
    for name in SPENT_BLIND_SETS:
        if (folder.parent / name).is_dir():
            messages += [replace(message, split="train") for message in load(folder.parent / name, ("test",))]
    # A short text can be written twice by different writers ("merci beaucoup"): never learn a text that is
    # also held out, here or in a blind set still to be scored.
    held_out = {_same(message.text) for message in load(folder, ("test",))}
    for blind in sorted(folder.parent.glob("blind*")):
        if blind.is_dir() and blind.name not in SPENT_BLIND_SETS:
            held_out |= {_same(message.text) for message in load(blind, ("test",))}
    messages = [message for message in messages if _same(message.text) not in held_out]
    lines = [json.dumps({"id": m.id, "lang": m.language, "text": m.text, "emergency": m.emergency,
                         "protocol": m.protocol, "kind": m.kind, "split": m.split}, ensure_ascii=False)
             for m in messages if m.split in TRAINING_SPLITS]
    destination.write_text("\n".join(lines) + "\n", "utf-8")
    return len(lines)


def _same(text: str) -> str:
    return " ".join(text.lower().split())


def examples(splits: tuple[str, ...] = TRAINING_SPLITS) -> list[dict]:
    found = []
    for name in EXAMPLES:
        path = LEARNED / name
        if path.is_file():
            found += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [row for row in found if row["split"] in splits and row["kind"] not in SKIPPED_KINDS]


def digest() -> str:
    """sha256 of everything the model is learnt from: the examples and the lexicon files."""
    files, guests = data_files()
    hashed = hashlib.sha256()
    for name in EXAMPLES:
        path = LEARNED / name
        hashed.update(path.read_bytes() if path.is_file() else b"")
    for group in (files, guests):
        for language in sorted(group):
            hashed.update(language.encode() + b"\0" + group[language].encode())
    return hashed.hexdigest()


def train(rows: list[dict], lexicon: Lexicon) -> dict:
    import numpy as np

    read_rows = [read(row["text"], lexicon) for row in rows]
    seen = [found for _, found, _ in read_rows]
    counts: dict[str, int] = {}
    for found in seen:
        for name in found:
            counts[name] = counts.get(name, 0) + 1
    names = sorted(name for name, count in counts.items()
                   if count >= MIN_DOCUMENTS or not name.startswith(("w ", "p ", "b ")))
    index = {name: number for number, name in enumerate(names)}
    classes = sorted({*CATEGORIES, *lexicon.topics, *(row["protocol"] for row in rows)})
    present = [sorted(index[name] for name in found if name in index) for found in seen]
    matrix = _Ones(present, len(names))
    proofs = np.zeros((len(rows), len(classes), len(EVIDENCE)), dtype=np.float32)
    for number, (_, _, proof) in enumerate(read_rows):
        for key, values in proof.items():
            if key in classes:
                proofs[number, classes.index(key)] = values
    emergency = np.array([float(row["emergency"]) for row in rows], dtype=np.float32)
    target = np.zeros((len(rows), len(classes)), dtype=np.float32)
    target[np.arange(len(rows)), [classes.index(row["protocol"]) for row in rows]] = 1.0
    share = emergency.mean()
    balance = np.where(emergency > 0, 0.5 / share, 0.5 / (1 - share)).astype(np.float32)
    binary, _ = _fit(matrix, emergency[:, None], None, balance, EMERGENCY_L2)
    multi, shared = _fit(matrix, target, proofs)
    weights = {}
    for number, name in enumerate(names):
        row: list[float] = [round(float(binary[number, 0]), 3)]
        for klass in range(len(classes)):
            if abs(multi[number, klass]) >= PRUNE:
                row += [klass, round(float(multi[number, klass]), 3)]
        if len(row) > 1 or abs(row[0]) >= PRUNE:
            weights[name] = row
    return {"format": FORMAT, "digest": digest(), "examples": len(rows), "classes": classes,
            "evidence": [round(float(value), 3) for value in shared], "emergency_bias": 0.0,
            "protocol_bias": [0.0] * len(classes), "weights": weights}


class _Ones:
    """A matrix of ones and zeros (a row per message, a column per feature) kept as the places of its ones,
    with the two products the fit needs: a message has ~100 of ~25,000 features."""

    def __init__(self, present: list[list[int]], columns: int):
        import numpy as np

        lengths = np.array([len(row) for row in present])
        if not lengths.all():
            raise ValueError("every message has at least the bias feature")
        self.shape = (len(present), columns)
        self.columns = np.concatenate([np.asarray(row, dtype=np.int64) for row in present])
        self.row_starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        order = np.argsort(self.columns, kind="stable")
        self.rows_by_column = np.repeat(np.arange(len(present)), lengths)[order]
        self.used, self.column_starts = np.unique(self.columns[order], return_index=True)

    def __len__(self) -> int:
        return self.shape[0]

    def __matmul__(self, dense):
        import numpy as np

        return np.add.reduceat(dense[self.columns], self.row_starts, axis=0)

    def transposed_times(self, dense):
        import numpy as np

        product = np.zeros((self.shape[1], dense.shape[1]), dtype=dense.dtype)
        product[self.used] = np.add.reduceat(dense[self.rows_by_column], self.column_starts, axis=0)
        return product


def train_language(rows: list[dict]) -> dict:
    """The character-trigram language model (``language.py``) of every language with enough examples:
    add-half smoothing, trigrams seen at least twice, log-probabilities kept relative to a language's
    unseen one so that a message's score only sums the trigrams a language has shown."""
    import math
    from collections import Counter

    counts: dict[str, Counter[str]] = {}
    for row in rows:
        counts.setdefault(row["lang"], Counter()).update(trigrams(row["text"]))
    sizes = Counter(row["lang"] for row in rows)
    languages = sorted(language for language in counts if sizes[language] >= MIN_LANGUAGE_EXAMPLES)
    total = Counter()
    for language in languages:
        total.update(counts[language])
    vocabulary = sorted(gram for gram, count in total.items() if count >= MIN_DOCUMENTS)
    denominators = [sum(counts[language].values()) + 0.5 * len(vocabulary) for language in languages]
    unseen = [math.log(0.5 / denominator) for denominator in denominators]
    grams = {}
    for gram in vocabulary:
        row: list[float] = []
        for index, language in enumerate(languages):
            if counts[language][gram]:
                row += [index, round(math.log((counts[language][gram] + 0.5) / denominators[index]) - unseen[index], 3)]
        grams[gram] = row
    return {"format": LANGUAGE_FORMAT, "digest": digest(), "languages": languages,
            "unseen": [round(value, 4) for value in unseen], "grams": grams}


def _fit(matrix, target, proofs, balance=None, l2=L2):
    """L2-regularised logistic regression (``proofs`` None, one column) or softmax regression with evidence
    weights shared by every class, by full-batch Adam. Returns the feature weights and the evidence weights."""
    import numpy as np

    weights = np.zeros((matrix.shape[1], target.shape[1]), dtype=np.float32)
    shared = np.zeros(len(EVIDENCE), dtype=np.float32)
    moments = [np.zeros_like(weights), np.zeros_like(weights), np.zeros_like(shared), np.zeros_like(shared)]
    for step in range(1, STEPS + 1):
        logits = matrix @ weights
        if proofs is None:
            predicted = 1 / (1 + np.exp(-np.clip(logits, -30, 30)))
        else:
            logits = logits + proofs @ shared
            exps = np.exp(logits - logits.max(axis=1, keepdims=True))
            predicted = exps / exps.sum(axis=1, keepdims=True)
        error = (predicted - target) / len(matrix)
        if balance is not None:
            error = error * balance[:, None]
        gradients = [matrix.transposed_times(error) + l2 * weights]
        if proofs is not None:
            gradients.append(np.einsum("nc,nck->k", error, proofs))
        for number, (values, gradient) in enumerate(zip((weights, shared), gradients, strict=False)):
            first, second = moments[2 * number], moments[2 * number + 1]
            first *= 0.9
            first += 0.1 * gradient
            second *= 0.999
            second += 0.001 * gradient * gradient
            values -= RATE * (first / (1 - 0.9 ** step)) / (np.sqrt(second / (1 - 0.999 ** step)) + 1e-8)
    return weights, shared


def measure(corpus: Path, split: str = "dev", learnt_from: tuple[str, ...] = ("train",)) -> dict:
    """The honest figures for tuning: a model learnt from ``learnt_from`` only, scored on ``split`` of the
    corpus as ``evy eval --corpus`` scores it (first replies, no LLM). Nothing is written; the test split is
    refused like everywhere else."""
    from evy.config import parse as parse_config
    from evy.evaluate.corpus import load, score, summarise

    if split not in TRAINING_SPLITS or set(learnt_from) - set(TRAINING_SPLITS) or split in learnt_from:
        raise ValueError(f"measure on one of {', '.join(TRAINING_SPLITS)}, learnt from the others only")
    files, guests = data_files()
    model = parse(json.dumps(train(examples(learnt_from), compile_lexicon(files, guests))))
    import tempfile

    with tempfile.TemporaryDirectory() as scratch, trying(model):
        config = parse_config(f'country = "KE"\ndata_dir = {json.dumps(scratch)}\nresponder = "brain"\n')
        return summarise(score(load(corpus, (split,)), config))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evy.triage.learn", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="copy the train and dev splits of this corpus folder first")
    parser.add_argument("--splits", default=",".join(TRAINING_SPLITS),
                        help="learn from these splits only (train: to measure on dev)")
    parser.add_argument("--measure", action="store_true",
                        help="write nothing: learn from train only and print the dev figures (JSON), to tune by")
    args = parser.parse_args(argv)
    if args.measure:
        from evy.evaluate.corpus import table

        summary = measure(args.corpus or CORPUS)
        print(json.dumps({key: value for key, value in summary.items() if not key.startswith("by_")
                          and key != "confusion"}, indent=1))
        print(table(summary), file=sys.stderr)
        return 0
    if args.corpus:
        print(f"{import_corpus(args.corpus)} examples from {args.corpus}", file=sys.stderr)
    splits = tuple(args.splits.split(","))
    if set(splits) - set(TRAINING_SPLITS):
        parser.error(f"--splits: only {', '.join(TRAINING_SPLITS)} may be learnt from")
    files, guests = data_files()
    rows = examples(splits)
    model = train(rows, compile_lexicon(files, guests))
    (LEARNED / MODEL_FILE).write_text(json.dumps(model, separators=(",", ":"), ensure_ascii=False) + "\n",
                                      "utf-8")
    print(f"{MODEL_FILE}: {len(rows)} examples ({args.splits}), {len(model['weights'])} features, "
          f"{len(model['classes'])} protocols", file=sys.stderr)
    languages = train_language(rows)
    (LEARNED / LANGUAGE_FILE).write_text(json.dumps(languages, separators=(",", ":"), ensure_ascii=False) + "\n",
                                         "utf-8")
    print(f"{LANGUAGE_FILE}: {len(languages['languages'])} languages, {len(languages['grams'])} trigrams",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
