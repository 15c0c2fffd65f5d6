"""Radios behind one interface (:class:`evy.mesh.radio.base.Radio`); backends are chosen by name in
:mod:`evy.backends` and imported lazily."""

from evy.mesh.radio.base import Radio, Receiver

__all__ = ["Radio", "Receiver"]
