"""Settings of the kit's health ([health]): how often the agent records it, how long history is kept, the
thresholds of the "needs attention" list, and the node_exporter textfile."""

from evy.config.schema import Setting, integer, number, optional_path

SETTINGS = [
    Setting("health.snapshot_interval", number(5, 3600), 60.0,
            "Seconds between the agent's health snapshots in the store (modem, mesh, airtime, model, battery); "
            "the console reads them."),
    Setting("health.history_days", number(1, 365), 7.0, "Days of battery and solar history kept."),
    Setting("health.battery_low_pct", integer(1, 99), 20, "Below this battery percentage the kit needs attention."),
    Setting("health.disk_high_pct", integer(10, 99), 80,
            "Above this share of the data partition in use the kit needs attention."),
    Setting("health.sim_full_pct", integer(10, 100), 80,
            "At or above this share of the SIM's message storage in use the kit needs attention."),
    Setting("health.no_network_after", number(60, 86400), 3600.0,
            "Seconds without network registration after which the kit needs attention."),
    Setting("health.textfile", optional_path, None,
            "node_exporter textfile (e.g. /var/lib/node_exporter/textfile/evy.prom) the agent rewrites "
            "atomically with every snapshot; off when unset.", example="/var/lib/node_exporter/textfile/evy.prom"),
]
