"""Messages the SIM keeps while the store is in memory (the disk was full at start).

A store in memory dies with the process, so a received part stays on the SIM until its message is settled:
handled, with every reply to it gone out. Then a kill or power cut cannot lose the message (it is on the
SIM) nor answer it twice (a settled one has been freed from the SIM).
"""

from __future__ import annotations

from evy.store.db import Store


def settled(store: Store, pdu: str) -> bool:
    """True when the part with this PDU belongs to a handled message none of whose replies is still waiting."""
    row = store.db.execute(
        "SELECT 1 FROM parts p JOIN messages m ON m.id = p.message_id WHERE p.pdu = ? AND m.state = 'handled'"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id AND o.state IN ('queued', 'relaying'))"
        " LIMIT 1", (pdu,)).fetchone()
    return row is not None
