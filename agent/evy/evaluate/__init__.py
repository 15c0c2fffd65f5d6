"""`invoke eval`: EVY's responder against a public set of SMS, scored on what a reply must and must not say.

The set (eval/messages.toml) is loaded and validated by :mod:`evy.evaluate.evalset`; replies are scored by
:mod:`evy.evaluate.scoring`; :mod:`evy.evaluate.runner` produces them from the full pipeline (protocol
reply, then the RAG/LLM follow-up, compressed as the agent sends them) and from the bare local model;
:mod:`evy.evaluate.report` sums both up side by side.
"""

from evy.evaluate.errors import EvalError, EvalSetError
from evy.evaluate.evalset import Case, EvalSet, load, parse
from evy.evaluate.scoring import Score, score

__all__ = ["Case", "EvalError", "EvalSet", "EvalSetError", "Score", "load", "parse", "score"]
