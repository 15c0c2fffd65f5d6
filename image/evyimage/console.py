"""A serial console over a child process's stdin/stdout (QEMU's `-serial stdio`): expect a pattern, send a
line, run a shell command and get its output and exit status. Everything read is copied to a log file."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

from evyimage.errors import BootTestError

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\r")


class Console:
    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.argv = argv
        self.log_path = log_path
        self._buffer = bytearray()
        self._cursor = 0  # start of what expect() hasn't consumed
        self._lock = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._log = None

    def start(self) -> Console:
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, bufsize=0)
        self._reader = threading.Thread(target=self._read, name="console-reader", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if self._log:
                self._log.write(chunk)
                self._log.flush()
            with self._lock:
                if not chunk:
                    self._lock.notify_all()
                    return
                self._buffer += _ANSI.sub(b"", chunk)
                self._lock.notify_all()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def text_since(self, start: int) -> str:
        with self._lock:
            return self._buffer[start:].decode("utf-8", "replace")

    def expect(self, pattern: str, timeout: float, what: str = "") -> _TextMatch:
        regex = re.compile(pattern.encode(), re.MULTILINE)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                match = regex.search(self._buffer, self._cursor)
                if match:
                    self._cursor = match.end()
                    return _TextMatch(match)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._reader is not None and not self._reader.is_alive()):
                    tail = self._buffer[-400:].decode("utf-8", "replace").strip().splitlines()
                    state = "timed out" if remaining <= 0 else "QEMU exited"
                    raise BootTestError(f"{what or pattern}: {state} after {timeout:.0f} s; console ended with "
                                        f"{(tail[-1] if tail else '')!r} (full log {self.log_path})")
                self._lock.wait(min(remaining, 1.0))

    def send(self, text: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        for index in range(0, len(text), 16):  # a UART FIFO drops characters if they come too fast
            self._proc.stdin.write(text[index:index + 16].encode())
            self._proc.stdin.flush()
            time.sleep(0.02)

    def stop(self, timeout: float = 30.0) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        if self._log:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self.stop(5)


class _TextMatch:
    """A bytes regex match, seen as text."""

    def __init__(self, match: re.Match[bytes]) -> None:
        self._match = match

    def group(self, index: int = 0) -> str:
        return self._match.group(index).decode("utf-8", "replace")


class Shell:
    """Commands on a logged-in root shell, framed by markers so output and status are exact."""

    PROMPT = "EVYSH# "

    def __init__(self, console: Console) -> None:
        self.console = console
        self._count = 0

    def prepare(self) -> None:
        self.console.send(f"export PS1='{self.PROMPT}' TERM=dumb; stty -echo cols 200\n")
        self.console.expect(re.escape(self.PROMPT), 30, "shell prompt")
        self.run("true")

    def run(self, command: str, timeout: float = 60.0) -> tuple[int, str]:
        self._count += 1
        tag = f"EVY{self._count:04d}"
        self.console.send(f"echo {tag}B; {command}; echo {tag}E $?\n")
        match = self.console.expect(rf"{tag}B\n([\s\S]*?){tag}E (\d+)\n", timeout, f"command {command!r}")
        return int(match.group(2)), match.group(1).strip()
