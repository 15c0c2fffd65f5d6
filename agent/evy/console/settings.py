"""Settings of the operator console ([console]): where it listens, who may log in, what status changes say."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from evy.cases.state import Status
from evy.config.schema import BadValue, Setting, integer, number, optional_path, string_list

# argon2id in the PHC string format argon2-cffi writes (`evy console hash-password` makes one).
ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$")
NOTIFIABLE = (Status.ACKNOWLEDGED, Status.DISPATCHED, Status.RESOLVED, Status.CLOSED)


def password_hash(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not ARGON2ID.match(value):
        raise BadValue("expected an argon2id hash ($argon2id$v=19$...); make one with `evy console hash-password`")
    return value


password_hash.__doc__ = "argon2id hash (optional; from the first-boot seed)"


def addresses(value: Any) -> tuple[str, ...]:
    """IP addresses of this kit's own interfaces; a wildcard would also listen on a cellular data link."""
    names = string_list(value)
    if not names:
        raise BadValue("name at least one address, e.g. [\"10.42.0.1\"] (the access point)")
    for name in names:
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            raise BadValue(f"{name!r} is not an IP address") from None
        if address.is_unspecified:
            raise BadValue(f"{name} would listen on every interface (the cellular link too); name the addresses")
    return names


addresses.__doc__ = "list of IP addresses (no wildcard)"


def statuses(value: Any) -> tuple[Status, ...]:
    names = string_list(value)
    allowed = {str(status) for status in NOTIFIABLE}
    for name in names:
        if name not in allowed:
            raise BadValue(f"{name!r}: a status change SMS exists for {', '.join(sorted(allowed))}")
    return tuple(Status(name) for name in names)


statuses.__doc__ = "list of statuses (acknowledged, dispatched, resolved, closed)"

SETTINGS = [
    Setting("console.listen", addresses, ["10.42.0.1"],
            "Addresses the console listens on: the kit's access point by default; add the clinic LAN address "
            "to serve it there too. Never a wildcard, so it is never reachable over a cellular data link.",
            example=["10.42.0.1", "192.168.1.20"]),
    Setting("console.port", integer(1, 65535), 8080, "TCP port of the console."),
    Setting("console.operator_password_hash", password_hash, None,
            "argon2id hash of the `operator` account's password (set by the first-boot seed). Without it the "
            "console refuses to start: there is no default password."),
    Setting("console.observer_password_hash", password_hash, None,
            "argon2id hash of the read-only `observer` account's password; unset: no observer account."),
    Setting("console.session_hours", number(0.25, 168), 12.0, "Hours a login lasts."),
    Setting("console.login_attempts", integer(1, 100), 5,
            "Wrong passwords in a row (per account and per address) before logins are locked."),
    Setting("console.lockout_minutes", number(1, 24 * 60), 15.0, "Minutes a lockout lasts."),
    Setting("console.status_sms", statuses, ["acknowledged", "dispatched", "resolved"],
            "Status changes that send the sender a short SMS in their language (\"Help is on the way, case "
            "K7Q3.\"); the operator can still untick it for one change."),
    Setting("console.reply_segments", integer(1, 10), 3, "Most SMS an operator's reply may take."),
    Setting("console.refresh_seconds", number(2, 600), 5.0, "How often the board refreshes itself."),
    Setting("console.mbtiles", optional_path, None,
            "MBTiles file of raster map tiles (png, jpg or webp) drawn under the map; relative to data_dir. "
            "Unset: data_dir/map.mbtiles if the operator put one there, else the plain map.",
            example="map.mbtiles"),
]
