"""The agent's TOML configuration, declared once in :mod:`evy.config.table`."""

from evy.config.loader import DEFAULT_PATH, Config, load, parse

__all__ = ["DEFAULT_PATH", "Config", "load", "parse"]
