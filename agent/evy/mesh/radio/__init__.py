"""Radios behind one interface (:class:`evy.mesh.radio.base.Radio`); backends are imported lazily."""

from evy.mesh.radio.base import Radio, Receiver, backend

__all__ = ["Radio", "Receiver", "backend"]
