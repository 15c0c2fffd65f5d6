"""Responders turn an inbound message into replies: the immediate one, then an optional follow-up."""
