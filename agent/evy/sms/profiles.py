"""Per-modem start-up choices and quirks. A profile only describes; the AT driver acts on it."""

from __future__ import annotations

from dataclasses import dataclass

from evy.sms.errors import ModemError


@dataclass(frozen=True)
class Profile:
    name: str
    # AT+CNMI candidates, best first; the first one inside the modem's AT+CNMI=? ranges is used.
    # mt=1 everywhere: messages are stored first and announced with +CMTI, so a crash cannot lose one.
    cnmi: tuple[str, ...]
    # Registration commands; the modem counts as registered when any of them says home (1) or roaming (5).
    registration: tuple[str, ...]
    # Preferred message storage; None picks SM, else the first the modem offers.
    storage: str | None = None
    # Extra start-up commands whose failure is only logged.
    init: tuple[str, ...] = ()
    # Seconds a rebooting modem needs before it answers AT.
    boot_time: float = 3.0


GENERIC = Profile(
    name="generic",
    cnmi=("2,1,0,1,0", "1,1,0,1,0", "2,1,0,2,0", "1,1,0,2,0", "2,1,0,0,0", "1,1,0,0,0"),
    registration=("CREG", "CGREG"),
)

# SIM800C/L: CNMI range (0-3),(0-3),(0,2),(0,1),(0,1), so 2,1,0,2 is refused; status reports arrive as +CDS.
SIM800 = Profile(
    name="sim800",
    cnmi=("2,1,0,1,0", "2,1,0,0,0"),
    registration=("CREG",),
    storage="SM",
    boot_time=3.0,
)

# SIM7000 on LTE-M/NB-IoT: CREG may read 0,0 or 0,3 while CGREG/CEREG say registered; reports are stored
# and announced with +CDSI (ds=2), which also keeps them across a crash.
SIM7000 = Profile(
    name="sim7000",
    cnmi=("2,1,0,2,0", "2,1,0,1,0", "2,1,0,0,0"),
    registration=("CREG", "CGREG", "CEREG"),
    storage="SM",
    boot_time=5.0,
)

PROFILES = {profile.name: profile for profile in (GENERIC, SIM800, SIM7000)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ModemError(f"modem.profile: unknown profile {name!r} (choose {', '.join(PROFILES)})",
                         transient=False) from None


def choose_cnmi(profile: Profile, ranges: list[set[int]] | None, status_reports: bool,
                override: str | None = None) -> str:
    """The AT+CNMI parameters to set: the override if given, else the profile's first candidate the modem
    supports (any candidate when its ranges are unknown). Without status reports, ds is forced to 0."""
    if override:
        return override
    candidates = [c for c in profile.cnmi if (_field(c, 3) != 0) == status_reports] or list(profile.cnmi)
    if not status_reports:
        candidates = [_with_field(c, 3, 0) for c in candidates]
    for candidate in candidates:
        values = [int(v) for v in candidate.split(",")]
        if not ranges or all(i >= len(ranges) or not ranges[i] or v in ranges[i]
                             for i, v in enumerate(values)):
            return candidate
    raise ModemError(f"the modem supports none of the CNMI settings {', '.join(candidates)}; "
                     "set modem.cnmi to one it accepts", transient=False)


def _field(cnmi: str, index: int) -> int:
    parts = cnmi.split(",")
    return int(parts[index]) if index < len(parts) else 0


def _with_field(cnmi: str, index: int, value: int) -> str:
    parts = cnmi.split(",")
    while len(parts) <= index:
        parts.append("0")
    parts[index] = str(value)
    return ",".join(parts)
