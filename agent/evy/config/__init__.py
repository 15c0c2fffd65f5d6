"""The agent's TOML configuration, declared once in :mod:`evy.config.table`.

The loader is imported on first use, so ``evy.config.schema`` (the table machinery, which the image builder
shares) can be imported without gathering every concern's settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evy.config.loader import DEFAULT_PATH, Config, load, parse

__all__ = ["DEFAULT_PATH", "Config", "load", "parse"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from evy.config import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'evy.config' has no attribute {name!r}")
