"""The signed downlink: local information, broadcasts and updates from the coordination cell, verified against
keys pinned in the image before anything changes (see docs/fleet.md, Downlink)."""
