"""The learned part of the triage: two linear models over a message's features (``features.py``), trained
offline on labelled SMS (``python -m evy.triage.learn``) and shipped as ``data/learned/model.json``.

- ``emergency``: the probability that the message reports a danger here and now (logistic);
- ``protocol``: a probability for each protocol key a message can need (softmax), the category keys
  ("fire") standing for the category's own text.

Scoring is a sum of weights over the features present: no numpy, microseconds per message.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources

from evy.triage.errors import LexiconError
from evy.triage.features import EVIDENCE

MODEL_FILE = "model.json"
FORMAT = 1


@dataclass(frozen=True)
class Scores:
    emergency: float  # probability
    protocols: dict[str, float]  # protocol key -> probability, summing to 1


@dataclass(frozen=True)
class Model:
    classes: tuple[str, ...]
    emergency_bias: float
    protocol_bias: tuple[float, ...]
    # feature -> (emergency weight, ((class index, weight), ...))
    weights: dict[str, tuple[float, tuple[tuple[int, float], ...]]]
    evidence: tuple[float, ...]  # the weight of each lexicon evidence (features.EVIDENCE), alike for every key
    digest: str  # sha256 of what it was trained from (examples + lexicon), to tell when it is stale

    def score(self, features: set[str], evidence: dict[str, list[float]]) -> Scores:
        emergency = self.emergency_bias
        logits = list(self.protocol_bias)
        weights = self.weights
        for key, values in evidence.items():
            index = self.index.get(key)
            if index is not None:
                logits[index] += sum(weight * value for weight, value in zip(self.evidence, values, strict=True))
        for name in features:
            found = weights.get(name)
            if found is None:
                continue
            emergency += found[0]
            for index, weight in found[1]:
                logits[index] += weight
        top = max(logits)
        exps = [math.exp(value - top) for value in logits]
        total = sum(exps)
        return Scores(1 / (1 + math.exp(-max(-30.0, min(30.0, emergency)))),
                      {name: value / total for name, value in zip(self.classes, exps, strict=True)})

    @property
    def index(self) -> dict[str, int]:
        return self._index

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {name: number for number, name in enumerate(self.classes)})


def parse(text: str) -> Model:
    try:
        data = json.loads(text)
        if data["format"] != FORMAT:
            raise LexiconError(f"triage/data/learned/{MODEL_FILE}: format {data['format']}, expected {FORMAT}")
        classes = tuple(data["classes"])
        weights = {name: (float(row[0]), tuple((int(row[i]), float(row[i + 1])) for i in range(1, len(row), 2)))
                   for name, row in data["weights"].items()}
        evidence = tuple(map(float, data["evidence"]))
        if len(evidence) != len(EVIDENCE):
            raise ValueError(f"{len(evidence)} evidence weights, expected {len(EVIDENCE)}")
        return Model(classes, float(data["emergency_bias"]), tuple(map(float, data["protocol_bias"])), weights,
                     evidence, str(data["digest"]))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise LexiconError(f"triage/data/learned/{MODEL_FILE}: not a triage model: {exc}") from None


@cache
def default_model() -> Model | None:
    """The shipped model, or None when there is none (the rules then decide alone)."""
    path = resources.files("evy.triage").joinpath("data", "learned", MODEL_FILE)
    if not path.is_file():
        return None
    return parse(path.read_text("utf-8"))


_trial: list[Model] = []  # a model being measured (``trying``), used instead of the shipped one


@contextmanager
def trying(model: Model) -> Iterator[None]:
    """Triage with ``model`` instead of the shipped one inside the block (``python -m evy.triage.learn
    --measure``: a model learnt from train only, scored on dev without writing it anywhere)."""
    _trial.append(model)
    try:
        yield
    finally:
        _trial.pop()


def active_model() -> Model | None:
    return _trial[-1] if _trial else default_model()
