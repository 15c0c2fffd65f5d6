"""The kit's health: the agent records what only it knows (:mod:`evy.health.recorder`), the console reads
it with what any process can see (:func:`collect`), and :func:`attention` lists what a person must fix."""

from evy.health.attention import Attention, Severity, attention
from evy.health.collect import KitHealth, collect
from evy.health.recorder import HealthRecorder

__all__ = ["Attention", "HealthRecorder", "KitHealth", "Severity", "attention", "collect"]
