"""The durable store: inbound parts, whole messages, the outbox and delivery reports, in one SQLite file."""

from evy.store.db import Store, StoreCorrupt, StoreError, StoreFull

__all__ = ["Store", "StoreCorrupt", "StoreError", "StoreFull"]
