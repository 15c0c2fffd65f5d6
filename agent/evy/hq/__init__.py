"""The coordination cell: stores every kit's fleet events in one database (see docs/fleet.md)."""
