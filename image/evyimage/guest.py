"""One QEMU guest booted from a scratch copy of the image, driven over its serial console: the QEMU command,
the scratch disk with its seed, login, shell commands, boot timings, and the lab settings a test gives the
agent (the UDP radio twin on a virtual link instead of the SX1276)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from evyimage.console import Console, Shell
from evyimage.errors import BootTestError

MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"}
LAB_DROPIN = "/run/systemd/system/evy-agent.service.d/lab-radio.conf"


def partitions(image: Path) -> list[dict]:
    out = subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["partitiontable"]["partitions"]


def fat(image: Path) -> str:
    return f"{image}@@{partitions(image)[0]['start'] * 512}"


def read_boot_file(image: Path, name: str) -> bytes:
    return subprocess.run(["mtype", "-i", fat(image), f"::{name}"], capture_output=True, check=True,
                          env=MTOOLS_ENV).stdout


def extract_boot(image: Path, work: Path) -> tuple[Path, Path, str]:
    """Kernel, initrd and the kernel command line, as the Pi firmware would take them from the FAT."""
    config = read_boot_file(image, "config.txt").decode()
    kernel = re.search(r"^\s*kernel=(\S+)", config, re.MULTILINE)
    initrd = re.search(r"^\s*initramfs\s+(\S+)", config, re.MULTILINE)
    if not kernel or not initrd:
        raise BootTestError("config.txt on the image names no kernel/initramfs")
    paths = []
    for name in (kernel.group(1), initrd.group(1)):
        target = work / name
        target.write_bytes(read_boot_file(image, name))
        paths.append(target)
    cmdline = read_boot_file(image, "cmdline.txt").decode().strip()
    return paths[0], paths[1], cmdline


def scratch_disk(image: Path, disk: Path, seed_text: str, grow_mib: int = 0) -> None:
    """A sparse copy of the image, ``grow_mib`` bigger (a card larger than the image), with a seed on FAT."""
    subprocess.run(["cp", "--sparse=always", str(image), str(disk)], check=True)
    if grow_mib:
        with disk.open("r+b") as handle:
            handle.truncate(disk.stat().st_size + (grow_mib << 20))
    put_seed(disk, seed_text)


def put_seed(disk: Path, seed_text: str) -> None:
    """Write evy-seed.toml onto the (powered-off) disk's FAT partition, as a technician's laptop would."""
    seed = disk.with_name(disk.stem + "-seed.toml")
    seed.write_text(seed_text, encoding="utf-8")
    try:
        subprocess.run(["mcopy", "-o", "-i", fat(disk), str(seed), "::evy-seed.toml"], check=True, env=MTOOLS_ENV)
    finally:
        seed.unlink()  # it holds the run's mesh key and PIN


def qemu_cmdline(image_cmdline: str) -> str:
    """The image's cmdline.txt with the Pi consoles swapped for QEMU virt's PL011."""
    kept = [arg for arg in image_cmdline.split() if not arg.startswith("console=")]
    # Emulated on a busy host, udev can take minutes to announce the disks; systemd's 90 s default device
    # timeout would then drop to the emergency shell. Real hardware never needs this.
    return " ".join([*kept, "console=ttyAMA0", "systemd.default_device_timeout_sec=900"])


def qemu_command(disk: Path, kernel: Path, initrd: Path, cmdline: str, modem_pty: str | None,
                 ssh_port: int | None = None, lab_link: str | None = None, lab_mac: str | None = None) -> list[str]:
    """``lab_link`` is a QEMU socket netdev (``listen=127.0.0.1:P`` / ``connect=127.0.0.1:P``): a virtual
    cable to another guest. SSH is forwarded from the host's loopback only."""
    user_net = "user,id=n0,restrict=on" + (f",hostfwd=tcp:127.0.0.1:{ssh_port}-:22" if ssh_port else "")
    command = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2", "-m", "1024",
               "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
               "-kernel", str(kernel), "-initrd", str(initrd), "-append", cmdline,
               "-drive", f"file={disk},if=virtio,format=raw,cache=unsafe",
               "-netdev", user_net, "-device", "virtio-net-pci,netdev=n0,romfile=",
               "-device", "virtio-rng-pci"]
    if lab_link:
        command += ["-netdev", f"socket,id=lab,{lab_link}",
                    "-device", f"virtio-net-pci,netdev=lab,romfile=,mac={lab_mac or '52:54:00:e5:00:01'}"]
    if modem_pty:
        command += ["-device", "qemu-xhci", "-chardev", f"serial,id=modem,path={modem_pty}",
                    "-device", "usb-serial,chardev=modem"]
    return command


@dataclass
class BootTimes:
    """Seconds of one boot. ``agent_ready`` is power-on (QEMU start) to the agent's READY (unit active)."""

    to_login: float = 0.0
    agent_ready: float | None = None
    agent_serving: float | None = None  # power-on to the agent's own "agent ready" log line
    systemd: str = ""
    extra: dict[str, float] = field(default_factory=dict)


class Guest:
    """One power-on of a scratch disk."""

    def __init__(self, argv: list[str], log: Path, timeout: float) -> None:
        self.console = Console(argv, log)
        self.timeout = timeout
        self.shell = Shell(self.console)
        self.started = 0.0
        self._booting: threading.Thread | None = None
        self._boot_result: float | BootTestError | None = None

    def to_login(self) -> float:
        self.started = time.monotonic()
        self.console.start()
        # The image boots `quiet`: the initramfs (overlayroot) says nothing; the checks after login look at /.
        self.console.expect(r"login: ?$", self.timeout, "login prompt")
        return time.monotonic() - self.started

    def boot_in_background(self) -> None:
        """Power on and wait for the login prompt on a thread (two guests boot at once)."""
        def boot() -> None:
            try:
                self._boot_result = self.to_login()
            except BootTestError as exc:
                self._boot_result = exc

        self._booting = threading.Thread(target=boot, name="guest-boot", daemon=True)
        self._booting.start()

    def wait_login(self) -> float:
        assert self._booting is not None
        self._booting.join(self.timeout * 2 + 30)
        if isinstance(self._boot_result, BootTestError):
            raise self._boot_result
        if self._boot_result is None:
            raise BootTestError("no login prompt")
        return self._boot_result

    def login(self) -> None:
        self.console.send("root\n")
        match = self.console.expect(r"(Password: ?$|# ?$|Login incorrect)", 60, "root login")
        if "Password" in match.group(1):
            self.console.send("\n")
            match = self.console.expect(r"(# ?$|Login incorrect)", 60, "root login")
        if "incorrect" in match.group(1):
            raise BootTestError("root login refused: is this a test profile image (image.test_login = true)?")
        self.console.send("dmesg -n 1\n")  # kernel messages must not land inside command output
        self.shell.prepare()

    def sh(self, command: str, timeout: float = 60) -> tuple[int, str]:
        return self.shell.run(command, timeout)

    def out(self, command: str, timeout: float = 60) -> str:
        return self.shell.run(command, timeout)[1]

    def wait_active(self, unit: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.out(f"systemctl is-active {unit}")
            if state in ("active", "failed"):
                return state
            time.sleep(3)
        return state

    def wait_log(self, unit: str, pattern: str, timeout: float, since: str = "") -> str:
        """The first journal line of ``unit`` (this boot, or since the guest's epoch second ``since``)
        matching the extended regex ``pattern``, or ""."""
        deadline = time.monotonic() + timeout
        window = f"--since @{since}" if since else "-b"
        while time.monotonic() < deadline:
            code, line = self.sh(f"journalctl {window} -u {unit} -o cat --no-pager | grep -m1 -E '{pattern}'")
            if code == 0 and line:
                return line
            time.sleep(3)
        return ""

    def kernel_start(self) -> float:
        """Host monotonic time at which this guest's kernel started (its uptime, read now, subtracted)."""
        uptime = float(self.out("cut -d' ' -f1 /proc/uptime"))
        return time.monotonic() - uptime

    def boot_times(self, to_login: float, save_to: Path) -> BootTimes:
        """Where the time went: systemd-analyze (time, critical chain to the agent, blame) saved to
        ``save_to``, and the agent's READY and its own "agent ready" line, measured from power-on."""
        times = BootTimes(to_login=to_login)
        slow = 600  # systemd-analyze and an import trace on a loaded host took over 120 s (load 12, 2 cores)
        offset = self.kernel_start() - self.started  # QEMU start → kernel start (firmware on a Pi)
        active = self.out("systemctl show evy-agent -p ActiveEnterTimestampMonotonic --value")
        if active.isdigit() and int(active) > 0:
            times.agent_ready = offset + int(active) / 1e6
        if self.wait_log("evy-agent", "agent ready in", 180):
            line = self.out("journalctl -b -u evy-agent -o short-monotonic --no-pager | grep -m1 'agent ready in'")
            stamp = re.match(r"\[\s*([0-9.]+)\]", line)
            if stamp:
                times.agent_serving = offset + float(stamp.group(1))
        times.systemd = self.out("systemd-analyze time 2>&1 | head -1")
        report = [f"# {save_to.stem}: power-on → login {to_login:.1f} s, → agent READY "
                  f"{times.agent_ready or 0:.1f} s, → agent serving {times.agent_serving or 0:.1f} s", "",
                  "$ systemd-analyze time", times.systemd, "",
                  "$ systemd-analyze critical-chain evy-agent.service",
                  self.out("systemd-analyze critical-chain --no-pager evy-agent.service 2>&1", slow), "",
                  "$ systemd-analyze critical-chain", self.out("systemd-analyze critical-chain --no-pager 2>&1", slow),
                  "", "$ systemd-analyze blame", self.out("systemd-analyze blame --no-pager 2>&1 | head -40", slow),
                  "", "$ python3 -X importtime -c 'import evy.pipeline.runner' (slowest cumulative, µs)",
                  self.out("python3 -X importtime -c 'import evy.pipeline.runner' 2>&1 | sort -t'|' -k2 -n | "
                           "tail -25", slow),
                  "", "$ journalctl -u evy-agent (this boot, first lines)",
                  self.out("journalctl -b -u evy-agent -o short-monotonic --no-pager | head -20")]
        save_to.write_text("\n".join(report) + "\n", encoding="utf-8")
        return times

    def set_agent_config(self, tables: dict[str, dict]) -> None:
        """Merge settings into /etc/evy/evy.toml (the overlay's tmpfs: gone at the next boot), with first
        boot's own TOML writer."""
        payload = json.dumps(tables)
        program = ("import json, sys, tomllib\nsys.path.insert(0, '/usr/lib/evy-image')\nimport firstboot\n"
                   "path = '/etc/evy/evy.toml'\nconfig = tomllib.load(open(path, 'rb'))\n"
                   f"for name, table in json.loads({payload!r}).items():\n"
                   "    config.setdefault(name, {}).update(table)\n"
                   "open(path, 'w').write(firstboot.dumps_toml(config))\n")
        encoded = base64.b64encode(program.encode()).decode()
        code, out = self.sh(f"python3 -c \"$(echo {encoded} | base64 -d)\"")
        if code != 0:
            raise BootTestError(f"cannot update /etc/evy/evy.toml: {out[-300:]}")

    def use_udp_radio(self, bind: str, peers: list[str], allow: str, **mesh: object) -> str:
        """The agent's mesh on the UDP radio twin, and a runtime drop-in opening just ``allow`` through the
        unit's IPAddressDeny=any. Restarts the agent; returns the guest's epoch second before the restart."""
        since = self.out("date +%s")
        self.set_agent_config({"mesh": {"enabled": True, "radio": "udp", "udp_bind": bind, "udp_peers": peers,
                                        **mesh}})
        dropin = f"[Service]\\nIPAddressAllow={allow}\\n"
        code, out = self.sh(f"mkdir -p {Path(LAB_DROPIN).parent} && printf '{dropin}' > {LAB_DROPIN} && "
                            "systemctl daemon-reload && systemctl restart evy-agent", 120)
        if code != 0:
            raise BootTestError(f"cannot restart the agent on the UDP radio: {out[-300:]}")
        return since

    def lab_interface(self, mac: str, address: str) -> str:
        """Bring up the virtual link whose NIC has ``mac`` with ``address`` (CIDR); returns its name."""
        name = self.out(f"ip -o link | grep -i '{mac}' | cut -d: -f2 | tr -d ' '")
        if not name:
            raise BootTestError(f"no network interface with MAC {mac} in the guest")
        code, out = self.sh(f"ip link set {name} up && ip addr add {address} dev {name}")
        if code != 0:
            raise BootTestError(f"cannot configure {name}: {out}")
        return name

    def mesh_status(self) -> dict:
        text = self.out("evy mesh status --config /etc/evy/evy.toml 2>&1")
        try:
            return json.loads(text)
        except ValueError:
            raise BootTestError(f"evy mesh status: {text[-300:]}") from None

    def poweroff(self) -> None:
        self.console.send("systemctl poweroff\n")
        self.console.stop(120)
