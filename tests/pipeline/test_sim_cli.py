"""`evy sim` in a real terminal: each reply shows up as it arrives, under the message it answers.

The demo runs as a user would run it, on a pseudo-terminal (the kit's modem is a second pty inside it); the test
types like a person, waits for what the screen shows, and reads the transcript.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
# No model, FTS-only retrieval: a life-threatening message still gets a follow-up (retrieved text), fast.
CONFIG = 'country = "KE"\n[llm]\nenabled = false\n[rag]\nembed_model = ""\n'
FLOOD = "water rising fast we are on the roof with 3 children"
DROWNING = "my son fell through ice not breathing"
HEADER = re.compile(r"^<< (answer|follow-up) to #(\d+) \"(.*)\" \[(\w+), (\d+) SMS\]$")


class Terminal:
    """A program on a pseudo-terminal: type lines, wait for text on the screen."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the program
            os.execvpe(argv[0], argv, env)
        self.screen = ""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the program has exited
            return False
        self.screen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return bool(chunk)

    def expect(self, pattern: str, timeout: float, start: int = 0) -> re.Match:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern, re.MULTILINE)
        while (match := regex.search(self.screen, start)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not on screen within {timeout} s:\n{self.screen}")
            self._read(min(left, 0.2))
        return match

    def type(self, line: str) -> int:
        """Type a line and Enter; returns where the screen stood before it."""
        mark = len(self.screen)
        os.write(self.fd, line.encode() + b"\r")
        return mark

    def quiet(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read(0.1)

    def close(self) -> int:
        os.write(self.fd, b"\x04")  # Ctrl-D at the start of a line: end of input
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError(f"evy sim did not exit after Ctrl-D:\n{self.screen}")


def replies_on(screen: str) -> list[dict]:
    """Each reply on the screen: its header and its text (the indented lines under the header)."""
    replies: list[dict] = []
    for line in screen.splitlines():
        header = HEADER.match(line)
        if header:
            kind, number, quoted, encoding, segments = header.groups()
            replies.append({"kind": kind, "message": int(number), "quoted": quoted, "encoding": encoding,
                            "segments": int(segments), "text": ""})
        elif replies and line.startswith("   "):
            replies[-1]["text"] += line.strip() + " "
    return replies


@pytest.fixture
def sim(tmp_path):
    config = tmp_path / "evy.toml"
    config.write_text(CONFIG)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "agent"),
                                                                      os.environ.get("PYTHONPATH")]))}
    terminal = Terminal([sys.executable, "-m", "evy", "sim", "--config", str(config)], env)
    terminal.expect("Type a message", timeout=60)
    yield terminal
    if terminal.pid:
        try:
            os.kill(terminal.pid, signal.SIGKILL)
            os.waitpid(terminal.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


@pytest.mark.slow
def test_each_reply_appears_as_it_arrives_under_the_message_it_answers(sim):
    first = sim.type(DROWNING)
    # The follow-up comes with nothing more typed: it must not wait for the next line.
    sim.expect(r'^<< answer to #1 "my son fell through ice', timeout=30, start=first)
    sim.expect(r'^<< follow-up to #1 "my son fell through ice', timeout=60, start=first)
    second = sim.type("HELP")
    sim.expect(r'^<< answer to #2 "HELP"', timeout=30, start=second)
    third = sim.type(FLOOD)
    sim.expect(r'^<< answer to #3 "water rising fast', timeout=30, start=third)
    sim.quiet(2)  # a late follow-up to the flood message, if any, still lands under #3
    assert sim.close() == 0

    replies = replies_on(sim.screen)
    by_message = {n: [r for r in replies if r["message"] == n] for n in (1, 2, 3)}
    assert [r["kind"] for r in by_message[1]] == ["answer", "follow-up"], replies
    assert [r["kind"] for r in by_message[2]] == ["answer"], replies
    assert by_message[3][0]["kind"] == "answer" and all(r["kind"] == "follow-up" for r in by_message[3][1:])
    assert all(DROWNING.startswith(r["quoted"].rstrip("…")) for r in by_message[1])
    assert "STOP to end" in by_message[2][0]["text"]  # HELP's own answer, not the drowning follow-up
    assert "999" in by_message[1][0]["text"] and "999" in by_message[3][0]["text"]
    assert "STOP to end" not in by_message[1][1]["text"]
    assert all(r["encoding"] == "gsm7" and r["segments"] >= 1 for r in replies)
    # On screen, each reply comes after the message it answers was typed.
    assert sim.screen.index("HELP") < sim.screen.index('answer to #2 "HELP"')
    assert sim.screen.index('follow-up to #1') < sim.screen.index("HELP")


@pytest.mark.slow
def test_a_message_the_guards_drop_is_reported_under_its_number(sim):
    mark = sim.type("STOP")
    sim.expect(r'^<< answer to #1 "STOP"', timeout=30, start=mark)
    mark = sim.type("my house is on fire")
    sim.expect(r"^\(#2 \"my house is on fire\" not answered: \w", timeout=30, start=mark)
    assert sim.close() == 0


@pytest.mark.slow
def test_piped_lines_each_get_their_answer_before_sim_exits(tmp_path):
    """Input from a pipe ends at once: sim waits for every answer and follow-up, even for a repeated line."""
    import subprocess

    config = tmp_path / "evy.toml"
    config.write_text(CONFIG)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "agent"),
                                                                      os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-m", "evy", "sim", "--config", str(config), "--timeout", "60"],
                            input=f"HELP\nHELP\n{DROWNING}\n", capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    headers = [(r["kind"], r["message"]) for r in replies_on(result.stdout)]
    assert sorted(headers) == [("answer", 1), ("answer", 2), ("answer", 3), ("follow-up", 3)], result.stdout
    assert "gave up" not in result.stdout
