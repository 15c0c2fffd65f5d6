"""Meshtastic gateway: direct messages to the kit's Meshtastic node go through the SMS pipeline.

``gateway.py`` drives the node with the official ``meshtastic`` package (an optional dependency, imported
only when ``[meshtastic] enabled = true``); ``twin.py`` is a node on a pty for tests and ``evy sim``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evy.pipeline.agent import Agent

log = logging.getLogger("evy.meshtastic")


def attach(agent: Agent) -> None:
    """Give the agent its Meshtastic node when enabled (the one place the gateway is wired in)."""
    if not agent.config["meshtastic.enabled"]:
        return
    try:
        from evy.meshtastic.gateway import MeshtasticGateway
    except ImportError as exc:
        log.error("meshtastic.enabled is set but the meshtastic package is missing (%s); SMS only", exc)
        return
    gateway = MeshtasticGateway(agent.config)
    gateway.start()
    agent.meshtastic = gateway
