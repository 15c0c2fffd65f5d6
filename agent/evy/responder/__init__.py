"""Responders turn an inbound message into replies: the immediate one, then an optional follow-up."""

from evy.responder.base import Inbound, Priority, Reply, Responder

__all__ = ["Inbound", "Priority", "Reply", "Responder"]
