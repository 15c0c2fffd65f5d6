"""The metrics as a node_exporter textfile, written atomically (a temporary file in the same directory, then
renamed over the old one), so node_exporter never reads half a file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import write_to_textfile

from evy.metrics.collector import registry
from evy.store import Store

if TYPE_CHECKING:
    from evy.config import Config


def write_textfile(store: Store, config: Config, path: Path | str) -> None:
    """Raises OSError when the directory is missing or not writable (node_exporter reads only ``*.prom``)."""
    write_to_textfile(str(path), registry(store, config))
