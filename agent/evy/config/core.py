"""Settings every part of the agent shares: where the kit is, where it keeps data, who it is."""

from pathlib import Path

from evy.config.schema import Setting, choice, country_code, path, phone_number

DEFAULT_PATH = Path("/etc/evy/evy.toml")  # where the agent's config lives on a kit
UPDATES = "updates"  # under data_dir: what the cell sent (protocols/, knowledge/, config.toml); docs/fleet.md

SETTINGS = [
    Setting("country", country_code, None,
            "Country the kit serves (ISO 3166 alpha-2); picks the emergency number. Without it, 112.",
            example="KE"),
    Setting("emergency_number", phone_number, None,
            "Overrides the country's emergency number (e.g. a local rescue line). Leave unset normally."),
    Setting("own_number", phone_number, None,
            "The kit's own SIM number; messages from it are ignored so the kit never answers itself."),
    Setting("data_dir", path, "/var/lib/evy",
            "Directory on the persistent data partition for the database, keys and spool."),
    Setting("responder", choice("brain", "basic"), "brain",
            "`brain`: triage, verified protocols, then RAG/LLM follow-ups; `basic`: the safety template only."),
    Setting("log_level", choice("debug", "info", "warning", "error"), "info", "Log level on stderr."),
]


def updates_dir(data_dir: Path | str) -> Path:
    """Where signed updates from the coordination cell are kept on the data partition."""
    return Path(data_dir) / UPDATES
