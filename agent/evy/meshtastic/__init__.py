"""Meshtastic gateway: direct messages to the kit's Meshtastic node go through the SMS pipeline.

``gateway.py`` drives the node with the official ``meshtastic`` package (an optional dependency, imported
only when ``[meshtastic] enabled = true``); ``twin.py`` is a node on a pty for tests and ``evy sim``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evy.config import Config
    from evy.meshtastic.gateway import MeshtasticGateway

log = logging.getLogger("evy.meshtastic")


def start_gateway(config: Config) -> MeshtasticGateway | None:
    """The kit's Meshtastic node when enabled, started (the agent's assembly owns and closes it)."""
    if not config["meshtastic.enabled"]:
        return None
    try:
        from evy.meshtastic.gateway import MeshtasticGateway
    except ImportError as exc:
        log.error("meshtastic.enabled is set but the meshtastic package is missing (%s); SMS only", exc)
        return None
    gateway = MeshtasticGateway(config)
    gateway.start()
    return gateway
