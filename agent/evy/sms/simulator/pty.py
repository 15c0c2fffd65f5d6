"""A device on a real pseudo-terminal, answered by a thread: the plumbing under the simulated modem.

Whoever opens ``port`` (the pty's slave) sees a serial device. The device keeps the slave open itself, so it
outlives clients that close the port or are SIGKILLed; output nobody reads is dropped, like on a UART.
``unplug`` makes it vanish as a USB modem does (the client's descriptor fails, the path is gone) and ``plug``
brings it back on a new pty; ``link``, a stable symlink to the current pty, plays udev's /dev/serial/by-id.
Subclasses handle input in ``_receive`` and write with ``_emit_raw``; ``_timers`` run actions later. One
re-entrant lock, ``_lock``, is held by the thread whenever it calls into the subclass.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from typing import Self

log = logging.getLogger("evy.sms.simulator")


class PtyDevice:
    def __init__(self, link: str | None = None) -> None:
        self.port = ""
        self.link = link  # a symlink kept pointing at the current pty (None: no link)
        self.chunk_size = 0  # >0: output is written in chunks this big, ``chunk_gap`` s apart
        self.chunk_gap = 0.001
        self.dropped_bytes = 0  # written while nobody was reading
        self._lock = threading.RLock()
        self._out: deque[tuple[float, bytes]] = deque()
        self._timers: list[tuple[float, Callable[[], object]]] = []
        self._master = self._slave = -1
        self._wake_r = self._wake_w = -1
        self._thread: threading.Thread | None = None
        self._stopping = False

    # --- lifecycle

    def start(self) -> Self:
        if self._thread is not None:
            return self
        self._open_pty()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"{type(self).__name__} {self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping = True
        self._wake()
        self._thread.join(timeout=5)
        self._thread = None
        self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def unplug(self) -> None:
        """The device vanishes (USB cable pulled, brown-out): the client's descriptor fails with EIO, the port
        and ``link`` are gone, output not yet read is lost. What the device keeps (a SIM's storage) survives."""
        with self._lock:
            self._close_pty()
            self._out.clear()
        self._wake()

    def plug(self) -> None:
        """The device comes back, on a new pty (``port`` changes; ``link`` follows it)."""
        with self._lock:
            if self._master < 0:
                self._open_pty()
        self._wake()

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    def _open_pty(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo or CR/LF translation by the pty itself: like a real UART
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        if self.link:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.link)
            os.symlink(self.port, self.link)

    def _close_pty(self) -> None:
        if self.link:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.link)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- hooks

    def _receive(self, data: bytes) -> None:
        """Bytes the client wrote (called with ``_lock`` held)."""

    def _receive_failed(self, data: bytes) -> None:
        """``_receive`` raised: recover (the thread goes on)."""

    def _wakeups(self, now: float) -> list[float]:
        """Extra moments (monotonic) the thread must wake at, besides output and timers."""
        return []

    # --- output and timers

    def _emit_raw(self, data: bytes, delay: float = 0.0) -> None:
        """Queue ``data`` for the client, ``delay`` s from now but never before what is already queued."""
        now = time.monotonic()
        due = max(now + delay, self._out[-1][0] if self._out else now)
        if self.chunk_size > 0:
            for offset in range(0, len(data), self.chunk_size):
                self._out.append((due, data[offset:offset + self.chunk_size]))
                due += self.chunk_gap
        else:
            self._out.append((due, data))
        self._wake()

    def _wake(self) -> None:
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")

    # --- the thread

    def _run(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            with self._lock:
                self._run_timers(now)
                self._flush_output(now)
                timeout = self._next_wakeup(now)
                master = self._master
            watched = [self._wake_r] + ([master] if master >= 0 else [])
            try:
                readable, _, _ = select.select(watched, [], [], timeout)
            except (OSError, ValueError):
                if self._stopping:
                    return
                continue  # unplugged while waiting: look again
            if self._wake_r in readable:
                os.read(self._wake_r, 4096)
            if master >= 0 and master in readable:
                with self._lock:
                    if master != self._master:
                        continue  # unplugged meanwhile
                    try:
                        data = os.read(master, 4096)
                    except BlockingIOError:
                        continue
                    except OSError as exc:
                        if exc.errno == errno.EIO:  # nobody has the slave open: wait for the next client
                            time.sleep(0.02)
                            continue
                        raise
                    try:
                        self._receive(data)
                    except Exception:  # a device bug must not silence it for the rest of a run
                        log.exception("%s failed on input %r", type(self).__name__, data)
                        self._receive_failed(data)

    def _next_wakeup(self, now: float) -> float:
        candidates = [0.2]
        if self._out:
            candidates.append(self._out[0][0] - now)
        candidates.extend(due - now for due, _ in self._timers)
        candidates.extend(due - now for due in self._wakeups(now))
        return max(0.0, min(candidates))

    def _run_timers(self, now: float) -> None:
        due = [t for t in self._timers if t[0] <= now]
        self._timers = [t for t in self._timers if t[0] > now]
        for _, action in sorted(due, key=lambda t: t[0]):
            action()

    def _flush_output(self, now: float) -> None:
        while self._out and self._out[0][0] <= now:
            _, data = self._out.popleft()
            if self._master < 0:
                self.dropped_bytes += len(data)  # unplugged: nobody can read it
                continue
            try:
                os.write(self._master, data)
            except BlockingIOError:
                self.dropped_bytes += len(data)  # nobody reads the port: like a UART, the bytes are gone
            except OSError as exc:
                if exc.errno not in (errno.EIO, errno.EAGAIN):
                    raise
                self.dropped_bytes += len(data)
