"""Settings of cases ([cases]): when a quiet case closes, and where the kit stands."""

from typing import Any

from evy.config.schema import BadValue, Setting, number

HOUR = 3600.0


def position(value: Any) -> tuple[float, float] | None:
    """A place with coordinates, in any form the location parser reads ("-1.2921, 36.8219", a plus code,
    a geo: URI)."""
    from evy.cases.location import find_location  # here: the parser brings triage in, which `evy run` needs
    # only after READY (every settings module is imported to load the config)

    if value is None:
        return None
    if not isinstance(value, str):
        raise BadValue(f"expected coordinates as text, e.g. \"-1.2921, 36.8219\", got {type(value).__name__}")
    found = find_location(value)
    if found is None or not found.has_coordinates:
        raise BadValue(f"no coordinates in {value!r}; write them like \"-1.2921, 36.8219\" or a full plus code")
    return found.latitude, found.longitude


position.__doc__ = "coordinates (decimal degrees, degree-minutes, a full plus code or a geo: URI)"

SETTINGS = [
    Setting("cases.quiet_close", number(60.0, 30 * 24 * HOUR), 12 * HOUR,
            "Seconds without a message after which an open case closes; the sender's next message then "
            "opens a new case."),
    Setting("cases.kit_position", position, None,
            "Where the kit stands: resolves short plus codes people send and gives the console distances "
            "and bearings to cases.", example="-1.2921, 36.8219"),
]
