"""Pick the responder the config names."""

from __future__ import annotations

from evy.config import Config
from evy.responder.base import Responder


def make_responder(config: Config, *, llm: bool = True) -> Responder:
    if config["responder"] == "brain":
        from evy.power import open_monitor
        from evy.responder.brain import BrainResponder

        # Without follow-ups there is nothing for the battery to limit, so no monitor to open.
        return BrainResponder(config, llm=llm, power=open_monitor(config) if llm else None)
    from evy.responder.basic import BasicResponder

    return BasicResponder(config)
