"""The kit as the suite sees it: a shell on the console, the strategy that powers it, and the figures.

Tests say what they check (`kit.run("findmnt ...")`, `kit.power_cut()`); how the board is flashed,
powered and logged into stays in the strategy and the env file.
"""

from __future__ import annotations

import base64
import json
import shlex
import time
from dataclasses import dataclass
from typing import Any

from .errors import HilError
from .strategy import FlashStrategy, Status

# The longest a command may take: the agent's CLI (Python importing the agent) starts in seconds on a Pi and in
# over a minute on an emulated kit on a loaded host. Only a bound: commands return when they are done.
COMMAND_TIMEOUT = 300.0


class KitCommandError(HilError):
    """A command on the kit failed; the message carries its exit code and last output lines."""


@dataclass(frozen=True)
class KitOptions:
    """The env file's ``options:`` with their defaults (one place, typed)."""

    agent_unit: str = "evy-agent.service"
    data_dir: str = "/var/lib/evy"
    kit_number: str = "+254722000001"
    emergency_number: str = "112"
    country: str = "DE"
    seed_name: str = "evy-seed.toml"
    firstboot_unit: str = "evy-firstboot.service"
    # As the agent's user: root opening the WAL database could leave files the agent cannot write.
    status_command: str = "runuser -u evy -- evy status"
    agent_user: str = "evy"
    sms_timeout: float = 180.0
    quiet_period: float = 30.0
    boot_budget: float = 180.0
    serving_timeout: float = 120.0  # seconds from the agent's READY to its modem being open and ready
    power_cut_cycles: int = 20
    power_cut_window: float = 30.0
    idle_budget_watts: float = 12.0
    lora: str = ""  # non-empty: the reason LoRa cannot be tested on this env
    lora_twin_link: str = ""  # kits without a radio: their ends of a virtual cable (evyhil.lora.TwinLink)

    @classmethod
    def from_env(cls, env) -> KitOptions:
        values: dict[str, Any] = {}
        for name, spec in cls.__dataclass_fields__.items():
            try:
                raw = env.config.get_option(name)
            except KeyError:
                continue
            if raw is not None:
                kind = spec.type if isinstance(spec.type, type) else {"str": str, "float": float,
                                                                     "int": int}[spec.type]
                values[name] = kind(raw)
        return cls(**values)


class Kit:
    def __init__(self, strategy: FlashStrategy, options: KitOptions):
        self.strategy = strategy
        self.options = options
        self.boots = 0

    @property
    def shell(self):
        return self.strategy.shell

    def boot(self) -> None:
        """Reach the shell (flashing the card first if this session has not)."""
        if self.strategy.status is not Status.shell:
            self.strategy.transition(Status.shell)
            self.boots += 1

    def power_cut(self) -> None:
        """Cut power now, whatever the kit is doing (QEMU: `quit` on the monitor, no shutdown)."""
        self.strategy.transition(Status.off)

    def power_cycle(self) -> None:
        self.power_cut()
        self.boot()

    def run(self, command: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """stdout of ``command`` on the kit; KitCommandError if it exits non-zero."""
        self.boot()
        lines, _, code = self.shell.run(command, timeout=timeout)
        if code != 0:
            tail = " | ".join(lines[-3:])
            raise KitCommandError(f"`{command}` exited {code} on the kit: {tail}")
        return "\n".join(lines)

    def run_status(self, command: str, timeout: float = COMMAND_TIMEOUT) -> tuple[int, str]:
        self.boot()
        lines, _, code = self.shell.run(command, timeout=timeout)
        return code, "\n".join(lines)

    def read_file(self, path: str) -> str | None:
        code, text = self.run_status(f"cat {shlex.quote(path)}")
        return text if code == 0 else None

    def mount(self, path: str) -> dict[str, str]:
        """findmnt's SOURCE, FSTYPE and OPTIONS of the mount at ``path`` (empty if it is not a mount point)."""
        code, out = self.run_status(f"findmnt -n -J -o SOURCE,FSTYPE,OPTIONS --mountpoint {shlex.quote(path)}")
        if code != 0 or not out.strip():
            return {}
        return json.loads(out)["filesystems"][0]

    def agent_status(self) -> dict[str, Any]:
        return json.loads(self.run(self.options.status_command))

    def agent_serving(self, timeout: float, poll: float = 3.0) -> dict[str, Any]:
        """`evy status` once the agent serves (its modem open and ready), or the last one after ``timeout``.

        The unit is active as soon as the agent sends READY; it opens the modem after that, so right after
        boot the status may still say "unknown" (seen on an emulated kit on a loaded host)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.agent_status()
            if status.get("modem", {}).get("state") == "ready" or time.monotonic() >= deadline:
                return status
            time.sleep(poll)

    def outbox_texts(self, kind: str) -> list[str]:
        """Texts of the kit's outbox entries of ``kind`` ('reply', 'followup'), read from its database
        read-only, as the agent's user."""
        program = ("import json, sqlite3, sys\n"
                   "db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n"
                   "print(json.dumps([row[0] for row in db.execute("
                   "'SELECT text FROM outbox WHERE kind = ? ORDER BY id', (sys.argv[2],))]))\n")
        encoded = base64.b64encode(program.encode()).decode()
        out = self.run(f"runuser -u {self.options.agent_user} -- python3 -c \"$(echo {encoded} | base64 -d)\" "
                       f"{shlex.quote(self.options.data_dir + '/evy.db')} {shlex.quote(kind)}")
        return json.loads(out.strip().splitlines()[-1])

    def agent_ready_after_power_on(self) -> float | None:
        """Seconds from power-on (host clock) to the agent unit becoming active; None if it is not active.

        The kit reports when the unit became active on its monotonic clock; its uptime, read in the same
        command, maps that onto the host's clock without trusting the kit's (RTC-less) wall clock.
        """
        unit = shlex.quote(self.options.agent_unit)
        asked_at = time.monotonic()
        out = self.run(f"cat /proc/uptime; systemctl show -p ActiveEnterTimestampMonotonic --value {unit}")
        answered_at = time.monotonic()
        uptime_line, ready_line = out.splitlines()[-2:]
        ready_us = int(ready_line.strip() or 0)
        if ready_us == 0 or self.strategy.powered_on_at is None:
            return None
        now_on_host = (asked_at + answered_at) / 2
        ready_on_host = now_on_host - (float(uptime_line.split()[0]) - ready_us / 1e6)
        return ready_on_host - self.strategy.powered_on_at

    def diagnostics(self) -> str:
        """What a technician looks at first when the kit is not right (for assertion messages)."""
        unit = shlex.quote(self.options.agent_unit)
        parts = []
        for command in ("systemctl --failed --no-legend --plain", f"systemctl status --no-pager -l {unit}",
                        f"journalctl -b --no-pager -n 30 -u {unit}"):
            _, out = self.run_status(command)
            parts.append(f"$ {command}\n{out}")
        return "\n".join(parts)
