"""Kit groups at the cell ("north district", "clinics"): names for sets of kits that the fleet console sends
local information or a broadcast to. A group may name a kit the cell has not heard from yet."""

from __future__ import annotations

from evy.errors import EvyError
from evy.fleet.events import KIT_ID
from evy.hq.db import HqDatabase

GROUP_NAME = KIT_ID  # letters, digits, '-' and '_': safe in a form, a URL and a log line


class GroupError(EvyError):
    """A group change that cannot be made (a bad name, an unknown group)."""


def checked_name(name: str, what: str = "group") -> str:
    name = name.strip()
    if not GROUP_NAME.fullmatch(name):
        raise GroupError(f"{what} name {name[:70]!r}: use 1-64 letters, digits, '-' or '_'")
    return name


def groups(database: HqDatabase) -> dict[str, list[str]]:
    """Group name → its kits, both sorted."""
    found: dict[str, list[str]] = {}
    for row in database.sql.rows("SELECT name, kit FROM kit_groups ORDER BY name, kit"):
        found.setdefault(row["name"], []).append(row["kit"])
    return found


def members(database: HqDatabase, name: str) -> list[str]:
    return [row["kit"] for row in database.sql.rows("SELECT kit FROM kit_groups WHERE name = ? ORDER BY kit",
                                                   (name,))]


def add(database: HqDatabase, name: str, kits: list[str]) -> int:
    """Put kits in a group (made if new); how many were not in it yet."""
    name = checked_name(name)
    kits = [checked_name(kit, "kit") for kit in kits]
    if not kits:
        raise GroupError("name at least one kit for the group")
    added = 0
    with database.sql.transaction():
        for kit in kits:
            added += database.sql.execute("INSERT INTO kit_groups(name, kit) VALUES (?, ?)"
                                          " ON CONFLICT(name, kit) DO NOTHING", (name, kit))
    return added


def remove(database: HqDatabase, name: str, kit: str) -> None:
    if database.sql.execute("DELETE FROM kit_groups WHERE name = ? AND kit = ?", (name, kit)) == 0:
        raise GroupError(f"{kit!r} is not in group {name!r}")


def delete(database: HqDatabase, name: str) -> int:
    removed = database.sql.execute("DELETE FROM kit_groups WHERE name = ?", (name,))
    if removed == 0:
        raise GroupError(f"no group {name!r}")
    return removed
