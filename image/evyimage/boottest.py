"""`invoke boot-test`: boot a scratch copy of the image in QEMU (virt, Cortex-A72, the image's own kernel and
initrd from its FAT partition, the disk as virtio) twice, and check over the serial console that the card
behaves as a field kit must: overlay root over a read-only lower, tmpfs logs, a persistent data partition
(a file written there survives the reboot, one written to /etc doesn't), first boot applied the seed file,
SSH is key-only and the agent service is up and answers an SMS through a simulated modem (the agent's own
SIM800 simulator on a host pty, attached to the guest as a USB serial adapter, /dev/ttyUSB0).

Logging in needs a test profile (``test_login = true``, e.g. image/profiles/hil.toml); on a field image the
test stops after checking that the kernel, overlayroot and systemd reached the login prompt."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from evyimage import hostcheck
from evyimage.console import Console, Shell
from evyimage.errors import BootTestError

REPO = Path(__file__).resolve().parents[2]
SEED = """hostname = "evy-boottest"
country = "KE"
ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBoottestBoottestBoottestBoottestBoottest0 boot-test"]
[modem]
pin = "4321"
[mesh]
key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
"""
SMS_SENDER = "+254711000111"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class BootReport:
    image: Path
    checks: list[Check] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    log: Path | None = None

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(name, ok, detail))

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        out = [f"{'PASS' if c.ok else 'FAIL'}  {c.name}" + (f" — {c.detail}" if c.detail else "") for c in self.checks]
        out.append("timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in self.timings.items()))
        out.append(f"console log: {self.log}")
        return out


def default_image(out_dir: Path) -> Path:
    for name in ("evy-hil.img", "evy-field.img"):
        if (out_dir / name).exists():
            return out_dir / name
    raise BootTestError(f"no image in {out_dir}; run `invoke build-image --profile hil` first")


def _partitions(image: Path) -> list[dict]:
    out = subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["partitiontable"]["partitions"]


def _fat(image: Path) -> str:
    return f"{image}@@{_partitions(image)[0]['start'] * 512}"


def read_boot_file(image: Path, name: str) -> bytes:
    return subprocess.run(["mtype", "-i", _fat(image), f"::{name}"], capture_output=True, check=True,
                          env={"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"}).stdout


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


def qemu_cmdline(image_cmdline: str) -> str:
    """The image's cmdline.txt with the Pi consoles swapped for QEMU virt's PL011."""
    kept = [arg for arg in image_cmdline.split() if not arg.startswith("console=")]
    # Emulated on a busy host, udev can take minutes to announce the disks; systemd's 90 s default device
    # timeout would then drop to the emergency shell. Real hardware never needs this.
    return " ".join([*kept, "console=ttyAMA0", "systemd.default_device_timeout_sec=900"])


def qemu_command(disk: Path, kernel: Path, initrd: Path, cmdline: str, modem_pty: str | None) -> list[str]:
    command = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2", "-m", "1024",
               "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
               "-kernel", str(kernel), "-initrd", str(initrd), "-append", cmdline,
               "-drive", f"file={disk},if=virtio,format=raw,cache=unsafe",
               "-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0,romfile=",
               "-device", "virtio-rng-pci"]
    if modem_pty:
        command += ["-device", "qemu-xhci", "-chardev", f"serial,id=modem,path={modem_pty}",
                    "-device", "usb-serial,chardev=modem"]
    return command


class _Boot:
    """One power-on of the scratch disk."""

    def __init__(self, argv: list[str], log: Path, timeout: float) -> None:
        self.console = Console(argv, log)
        self.timeout = timeout
        self.shell = Shell(self.console)

    def to_login(self) -> float:
        begun = time.monotonic()
        self.console.start()
        self.console.expect(r"overlayroot: .*configured root", self.timeout, "overlayroot in the initramfs")
        self.console.expect(r"login: ?$", self.timeout, "login prompt")
        return time.monotonic() - begun

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

    def poweroff(self) -> None:
        self.console.send("systemctl poweroff\n")
        self.console.stop(120)


def _load_sim_modem():
    agent = str(REPO / "agent")
    if agent not in sys.path:
        sys.path.insert(0, agent)
    from evy.sms.simmodem import SimModem

    return SimModem


def run_boot_test(image: Path, timeout: float = 420, keep: bool = False) -> BootReport:
    hostcheck.require_tools(hostcheck.BOOT_TEST_TOOLS | {"mtype": "mtools", "sfdisk": "fdisk"})
    if not image.exists():
        raise BootTestError(f"{image} does not exist; run `invoke build-image` first")
    work = REPO / "build" / "boot-test" / image.stem
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    report = BootReport(image, log=work / "console.log")
    disk = work / "disk.img"
    subprocess.run(["cp", "--sparse=always", str(image), str(disk)], check=True)
    kernel, initrd, image_cmdline = extract_boot(disk, work)
    seed = work / "evy-seed.toml"
    seed.write_text(SEED, encoding="utf-8")
    subprocess.run(["mcopy", "-i", _fat(disk), str(seed), "::evy-seed.toml"], check=True,
                   env={"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"})
    modem = None
    try:
        modem = _load_sim_modem()(model="sim800").start()
    except Exception as exc:  # the agent's simulator is optional for the boot checks themselves
        report.add("simulated modem on the host", False, f"cannot start: {exc}")
    argv = qemu_command(disk, kernel, initrd, qemu_cmdline(image_cmdline), modem.port if modem else None)
    (work / "qemu.sh").write_text(" ".join(argv) + "\n", encoding="utf-8")
    try:
        token = _first_boot(argv, report, timeout, modem)
        if token:
            _second_boot(argv, report, timeout, token)
    finally:
        if modem is not None:
            modem.stop()
        if not keep:
            disk.unlink(missing_ok=True)
    if not report.ok:
        failed = [c.name for c in report.checks if not c.ok]
        for line in report.lines():
            print(line)
        raise BootTestError(f"boot test failed: {', '.join(failed)} (console log {report.log})")
    return report


def _first_boot(argv: list[str], report: BootReport, timeout: float, modem) -> str | None:
    """Returns the token written to the data partition and /etc, or None if the boot couldn't go that far."""
    boot = _Boot(argv, report.log, timeout)
    try:
        report.timings["boot1_to_login"] = boot.to_login()
        report.add("kernel + initramfs + overlayroot reach the login prompt", True)
        try:
            boot.login()
        except BootTestError as exc:
            report.add("console login (test profile)", False, str(exc))
            return None
        state = boot.out("systemctl is-system-running --wait", timeout=300)
        report.add("systemd reached running", state == "running",
                   state if state == "running" else f"{state}; failed: {boot.out('systemctl --failed --no-legend')}")
        _mount_checks(boot, report)
        code, _ = boot.sh("test -e /boot/firmware/evy-seed.toml")
        applied = boot.out("cat /boot/firmware/evy-seed.applied.toml")
        report.add("first boot applied the seed and wiped it from FAT", code != 0 and "evy-boottest" in applied
                   and "4321" not in applied and "00112233" not in applied, applied.replace("\n", "; ")[:120])
        pin = boot.out("grep -c '^pin = \"4321\"' /etc/evy/evy.toml; stat -c %a:%G /etc/evy/evy.toml")
        report.add("modem PIN in the agent config, readable by evy only", pin.split() == ["1", "640:evy"], pin)
        report.add("machine-id generated", bool(re.fullmatch(r"[0-9a-f]{32}", boot.out("cat /etc/machine-id"))))
        report.add("SSH host keys on the data partition",
                   boot.sh("test -s /var/lib/evy/ssh/ssh_host_ed25519_key")[0] == 0)
        sshd = boot.out("sshd -T 2>/dev/null | grep -Ei '^(passwordauthentication|kbdinteractiveauthentication) '")
        report.add("SSH is key-only", sshd.lower().count(" no") == 2, sshd.replace("\n", "; "))
        agent_state = boot.wait_active("evy-agent.service", 240)
        detail = agent_state if agent_state == "active" else boot.out(
            "journalctl -u evy-agent --no-pager -n 8 -o cat")[-600:]
        report.add("agent service active", agent_state == "active", detail)
        sandbox = boot.out("systemctl show evy-agent -p ProtectSystem -p User -p WatchdogUSec -p Restart")
        report.add("agent sandboxed with a watchdog", "ProtectSystem=strict" in sandbox and "User=evy" in sandbox
                   and "WatchdogUSec=1min" in sandbox, sandbox.replace("\n", " "))
        if modem is not None and agent_state == "active":
            _sms_round_trip(boot, report, modem)
        token = secrets.token_hex(8)
        boot.sh(f"echo {token} > /var/lib/evy/boot-test.marker && echo {token} > /etc/boot-test.marker && sync")
        boot.poweroff()
        return token
    except BootTestError as exc:
        report.add("first boot", False, str(exc))
        return None
    finally:
        boot.console.kill()


def _mount_checks(boot: _Boot, report: BootReport) -> None:
    root = boot.out("findmnt -n -o FSTYPE /")
    report.add("root is an overlay", root == "overlay", root)
    lower = boot.out("findmnt -n -o FSTYPE,OPTIONS /media/root-ro")
    report.add("lower root is read-only ext4", lower.startswith("ext4") and " ro," in f" {lower.split()[-1]}",
               lower)
    for mountpoint in ("/var/log", "/tmp"):
        fstype = boot.out(f"findmnt -n -o FSTYPE {mountpoint}")
        report.add(f"{mountpoint} is tmpfs", fstype == "tmpfs", fstype)
    data = boot.out("findmnt -n -o FSTYPE,OPTIONS /var/lib/evy")
    report.add("data partition ext4, rw, noatime", data.startswith("ext4") and "rw," in data and "noatime" in data,
               data)
    boot_opts = boot.out("findmnt -n -o OPTIONS /boot/firmware")
    report.add("boot partition read-only", boot_opts.startswith("ro"), boot_opts)
    report.add("journal is volatile", boot.sh("test -d /run/log/journal && ! test -d /var/log/journal")[0] == 0)


def _sms_round_trip(boot: _Boot, report: BootReport, modem) -> None:
    begun = time.monotonic()
    try:
        modem.deliver(SMS_SENDER, "Help! My neighbour collapsed and is not breathing")
        sent = modem.wait_sent(1, timeout=240)
        submit = getattr(sent[0], "submit", None)
        reply = getattr(submit, "text", None) or getattr(sent[0], "text", None) or str(sent[0])
        report.timings["sms_round_trip"] = time.monotonic() - begun
        report.add("agent answers an SMS end to end (simulated modem on /dev/ttyUSB0)", bool(reply),
                   reply[:100])
    except Exception as exc:  # the simulator raises TimeoutError when nothing was sent
        log = boot.out("journalctl -u evy-agent --no-pager -n 6 -o cat")[-500:]
        report.add("agent answers an SMS end to end (simulated modem on /dev/ttyUSB0)", False,
                   f"{type(exc).__name__}: {exc}; agent log: {log}")


def _second_boot(argv: list[str], report: BootReport, timeout: float, token: str) -> None:
    boot = _Boot(argv, report.log, timeout)
    try:
        report.timings["boot2_to_login"] = boot.to_login()
        boot.login()
        report.add("data partition file survived the reboot",
                   boot.out("cat /var/lib/evy/boot-test.marker") == token)
        report.add("file written to /etc did not survive (read-only root)",
                   boot.sh("test -e /etc/boot-test.marker")[0] != 0)
        report.add("hostname from the seed kept", boot.out("cat /etc/hostname") == "evy-boottest",
                   boot.out("cat /etc/hostname"))
        report.add("first boot ran once only", boot.out("systemctl is-active evy-firstboot") != "active"
                   or boot.sh("journalctl -b -u evy-firstboot -o cat | grep -q 'SSH host keys generated'")[0] != 0)
        state = boot.wait_active("evy-agent.service", 240)
        report.add("agent service active after reboot", state == "active", state)
        boot.poweroff()
    except BootTestError as exc:
        report.add("second boot", False, str(exc))
    finally:
        boot.console.kill()
