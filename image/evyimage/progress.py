"""Stage progress with elapsed times, and one build log that every command's output goes to."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from evyimage.errors import StageError


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


class BuildLog:
    """Writes progress lines to the console and the log, and runs commands with output into the log."""

    def __init__(self, path: Path, console: TextIO = sys.stdout) -> None:
        self.path = path
        self.console = console
        self.started = time.monotonic()
        self.timings: dict[str, float] = {}
        self._stage: str | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> BuildLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def say(self, text: str) -> None:
        line = f"[{format_seconds(time.monotonic() - self.started):>7}] {text}"
        print(line, file=self.console, flush=True)
        self._file.write(line + "\n")
        self._file.flush()

    def note(self, text: str) -> None:
        """Log-only detail."""
        self._file.write(text.rstrip("\n") + "\n")
        self._file.flush()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._stage = name
        self.say(f"▶ {name}")
        begun = time.monotonic()
        try:
            yield
        except StageError:
            self.say(f"✗ {name} failed after {format_seconds(time.monotonic() - begun)}")
            raise
        finally:
            self._stage = None
        elapsed = time.monotonic() - begun
        self.timings[name] = round(elapsed, 1)
        self.say(f"✓ {name} ({format_seconds(elapsed)})")

    def run(self, argv: Sequence[str | os.PathLike[str]], *, env: Mapping[str, str] | None = None,
            cwd: Path | None = None, input_text: str | None = None) -> str:
        """Run a command, its output into the log; return stdout. Failure → StageError naming the log."""
        args = [str(a) for a in argv]
        self.note("$ " + " ".join(args))
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=full_env, cwd=cwd, stdin=subprocess.PIPE if input_text else subprocess.DEVNULL,
                                errors="replace")
        if input_text:
            assert proc.stdin is not None
            proc.stdin.write(input_text)
            proc.stdin.close()
        output: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            self._file.write(line)
        self._file.flush()
        code = proc.wait()
        if code != 0:
            tail = "".join(output[-15:])
            self.note(tail)
            where = f" in stage {self._stage}" if self._stage else ""
            raise StageError(f"{args[0]} exited {code}{where}; see {self.path} (last line: "
                             f"{(output[-1].strip() if output else 'no output')!r})")
        return "".join(output)
