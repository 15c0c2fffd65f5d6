"""Pick the responder the config names."""

from __future__ import annotations

from evy.config import Config
from evy.responder.base import Responder


def make_responder(config: Config, *, llm: bool = True) -> Responder:
    if config["responder"] == "brain":
        from evy.responder.brain import BrainResponder

        return BrainResponder(config, llm=llm)
    from evy.responder.basic import BasicResponder

    return BasicResponder(config)
