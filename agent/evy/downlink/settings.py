"""Settings of the signed downlink ([downlink]): the keys a kit trusts, the groups it belongs to, the key the
cell signs with, and which settings the cell may change remotely (``REMOTE_SETTINGS``)."""

from evy.config.schema import Setting, list_of, matching, optional_path

GROUP = matching(r"[A-Za-z0-9_-]{1,64}", "a group name: 1-64 letters, digits, `-` or `_`")

SETTINGS = [
    Setting("downlink.keys_file", optional_path, None,
            "Public keys (Ed25519) the kit accepts downlink messages from, one `ed25519 <base64>` line each, "
            "pinned in the image; the downlink rides the fleet uplink ([fleet] enabled). Unset: the kit takes no "
            "downlink.", example="/etc/evy/downlink-keys"),
    Setting("downlink.groups", list_of(GROUP), (),
            "Groups this kit belongs to: it also takes downlink messages sent to `group:<name>`.",
            example=["turkana", "north"]),
    Setting("downlink.signing_key", optional_path, None,
            "The cell's Ed25519 private key (PEM) `evy hq send` signs with; never on a kit, never committed.",
            example="/etc/evy-hq/downlink.key"),
]

# What a signed config update may change (at the kit's next start): pace and cost, never who the kit trusts,
# where it reports, or which number an emergency is told to call.
REMOTE_SETTINGS = ("broadcast.send_interval", "broadcast.max_segments", "broadcast.recent_hours",
                   "fleet.max_bytes_per_second", "fleet.health_interval", "fleet.metrics_interval", "rag.top_k",
                   "health.battery_low_pct", "health.no_network_after")
