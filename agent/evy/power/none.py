"""``power.source = "none"``: a kit without a battery monitor. Every reading is unknown, so nothing is limited."""

from __future__ import annotations

from typing import Any, Self

from evy.power.reading import PowerReading, PowerSource


class NoSource(PowerSource):
    name = "none"

    def __init__(self, why: str | None = None) -> None:
        super().__init__()
        self.why = why  # set when the configured source could not be opened and this one stands in

    @classmethod
    def from_config(cls, config: Any) -> Self:
        return cls()

    def _read(self) -> PowerReading:
        return PowerReading(source=self.name, problem=self.why)
