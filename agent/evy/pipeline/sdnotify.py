"""systemd notifications (READY, WATCHDOG, STATUS) over $NOTIFY_SOCKET, without a library."""

from __future__ import annotations

import contextlib
import os
import socket
import time


class Notifier:
    """Tells systemd the agent is ready and alive. The watchdog is fed only by :meth:`progress`, which the
    main loop calls after each completed turn: a loop stuck retrying something starves it, and systemd
    restarts the agent (``WatchdogSec=`` in the unit) instead of leaving a kit that looks alive but is deaf."""

    def __init__(self) -> None:
        self._address = os.environ.get("NOTIFY_SOCKET")
        usec = os.environ.get("WATCHDOG_USEC")
        self.watchdog_interval = int(usec) / 2e6 if usec and usec.isdigit() else None
        self._last_ping = 0.0

    def send(self, message: str) -> None:
        if not self._address:
            return
        address = "\0" + self._address[1:] if self._address.startswith("@") else self._address
        # OSError: systemd is gone (shutdown) or the socket is not ours; there is nothing to do about it.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
            sock.sendto(message.encode(), address)

    def ready(self, status: str = "") -> None:
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def progress(self) -> None:
        """The loop finished a turn (or waits, on purpose, for a human): WATCHDOG=1, at most twice per
        watchdog interval. Never call it from a retry loop."""
        if self.watchdog_interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog_interval:
            self._last_ping = now
            self.send("WATCHDOG=1")
