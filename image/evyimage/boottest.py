"""`invoke boot-test`: boot a scratch copy of the image in QEMU (virt, Cortex-A72, the image's own kernel and
initrd from its FAT partition, the disk as virtio) twice, and check over the serial console that the card
behaves as a field kit must: overlay root over a read-only lower, tmpfs logs, a persistent data partition
(a file written there survives the reboot, one written to /etc doesn't) grown to fill a card bigger than the
image, first boot applied the seed file, SSH is key-only and logs in with the seeded key (from the host's
loopback), the agent joined the mesh with the seeded key (`evy mesh status`, on the UDP radio twin) and
answers an SMS through a simulated modem (the agent's own SIM800 simulator on a host pty, attached to the
guest as a USB serial adapter, /dev/ttyUSB0). Each boot saves `systemd-analyze` time, critical chain and
blame beside the console log.

Logging in on the console needs a test profile (``test_login = true``, e.g. image/profiles/hil.toml); a field
image is checked over SSH with the seeded key instead (login, agent, seed, a file surviving the reboot)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from evyimage import hostcheck
from evyimage.errors import BootTestError
from evyimage.guest import (
    BootTimes,
    Guest,
    extract_boot,
    partitions,
    put_seed,
    qemu_cmdline,
    qemu_command,
    scratch_disk,
)

REPO = Path(__file__).resolve().parents[2]
SEED = """hostname = "{hostname}"
country = "KE"
ssh_authorized_keys = ["{ssh_key}"]
[modem]
pin = "4321"
[mesh]
key = "{mesh_key}"
[console]
operator_password_hash = "{console_hash}"
"""
CARD_EXTRA_MIB = 1024  # the scratch card is this much bigger than the image: first boot must take it
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class KitSeed:
    """A seed with a fresh mesh key and an SSH key pair made for this run (the private key stays in work/)."""

    hostname: str
    mesh_key: str
    ssh_private: Path
    console_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @classmethod
    def make(cls, work: Path, hostname: str, mesh_key: str | None = None) -> KitSeed:
        private = work / "id_ed25519"
        if not private.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "boot-test", "-f", str(private)],
                           check=True)
        return cls(hostname, mesh_key or secrets.token_hex(mesh_key_bytes()), private)

    def text(self) -> str:
        public = self.ssh_private.with_suffix(".pub").read_text().strip()
        return SEED.format(hostname=self.hostname, ssh_key=public, mesh_key=self.mesh_key,
                           console_hash=load_agent().hash_password(self.console_password))

    def network_id(self) -> str:
        return f"{load_agent().NetworkKey.from_secret(bytes.fromhex(self.mesh_key)).network_id:04x}"


def load_agent():
    """The agent's own modules from this checkout: the SIM800 simulator and the mesh key format."""
    agent = str(REPO / "agent")
    if agent not in sys.path:
        sys.path.insert(0, agent)
    from evy.console import auth
    from evy.mesh import keys
    from evy.pipeline import kit
    from evy.sms import simulator

    class Agent:
        hash_password = staticmethod(auth.hash_password)
        ModemSimulator = simulator.ModemSimulator
        NetworkKey = keys.NetworkKey
        deliver_parts = staticmethod(simulator.deliver_parts)
        join_replies = staticmethod(kit.join_replies)

    return Agent


def mesh_key_bytes() -> int:
    return json.loads((REPO / "agent/evy/mesh/key_format.json").read_text(encoding="utf-8"))["bytes"]


def ssh_run(seed: KitSeed, port: int, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Log in over SSH (QEMU forwards the host's 127.0.0.1:port to the guest's 22) with the seeded key only."""
    return subprocess.run(["ssh", "-i", str(seed.ssh_private), "-p", str(port), "-o", "IdentitiesOnly=yes",
                           "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                           "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=60", "-o", "LogLevel=ERROR",
                           "root@127.0.0.1", command],
                          capture_output=True, text=True, timeout=timeout)


def run_boot_test(image: Path, timeout: float = 420, keep: bool = False) -> BootReport:
    hostcheck.require_tools(hostcheck.BOOT_TEST_TOOLS | {"mtype": "mtools", "sfdisk": "fdisk",
                                                         "ssh": "openssh-client", "ssh-keygen": "openssh-client"})
    if not image.exists():
        raise BootTestError(f"{image} does not exist; run `invoke build-image` first")
    work = REPO / "build" / "boot-test" / image.stem
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    report = BootReport(image, log=work / "console.log")
    disk = work / "disk.img"
    seed = KitSeed.make(work, "evy-boottest")
    scratch_disk(image, disk, seed.text(), grow_mib=CARD_EXTRA_MIB)
    kernel, initrd, image_cmdline = extract_boot(disk, work)
    modem = None
    try:
        modem = load_agent().ModemSimulator(model="sim800").start()
    except Exception as exc:  # the agent's simulator is optional for the boot checks themselves
        report.add("simulated modem on the host", False, f"cannot start: {exc}")
    ssh_port = free_port()
    argv = qemu_command(disk, kernel, initrd, qemu_cmdline(image_cmdline), modem.port if modem else None,
                        ssh_port=ssh_port)
    (work / "qemu.sh").write_text(" ".join(argv) + "\n", encoding="utf-8")
    try:
        token = _first_boot(argv, report, timeout, modem, seed, ssh_port, work,
                            partitions(image)[-1]["size"] * 512)
        if token:
            _second_boot(argv, report, timeout, token, seed, ssh_port, work)
            if report.ok and "evy-hil" in image.name:
                _bad_seed_then_corrected(argv, disk, report, timeout, seed)
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


def record_times(report: BootReport, name: str, times: BootTimes) -> None:
    report.timings[f"{name}_to_login"] = times.to_login
    if times.agent_ready is not None:
        report.timings[f"{name}_agent_ready"] = times.agent_ready
    if times.agent_serving is not None:
        report.timings[f"{name}_agent_serving"] = times.agent_serving


def _first_boot(argv: list[str], report: BootReport, timeout: float, modem, seed: KitSeed, ssh_port: int,
                work: Path, image_data_bytes: int) -> str | None:
    """Returns the token written to the data partition and /etc, or None if the boot couldn't go that far."""
    boot = Guest(argv, report.log, timeout)
    try:
        to_login = boot.to_login()
        report.timings["boot1_to_login"] = to_login
        report.add("kernel + initramfs reach the login prompt", True)
        try:
            boot.login()
        except BootTestError:  # a field image: no console login, so the checks go over SSH
            return _field_image_over_ssh(boot, report, seed, ssh_port, None)
        state = boot.out("systemctl is-system-running --wait", timeout=300)
        report.add("systemd reached running", state == "running",
                   state if state == "running" else f"{state}; failed: {boot.out('systemctl --failed --no-legend')}")
        _mount_checks(boot, report)
        _grown_data_check(boot, report, image_data_bytes)
        code, _ = boot.sh("test -e /boot/firmware/evy-seed.toml")
        applied = boot.out("cat /boot/firmware/evy-seed.applied.toml")
        report.add("first boot applied the seed and wiped it from FAT", code != 0 and seed.hostname in applied
                   and "4321" not in applied and seed.mesh_key[:8] not in applied, applied.replace("\n", "; ")[:120])
        status = boot.out("cat /var/lib/evy/firstboot-status.json")
        report.add("first boot status for `evy status`", '"seed": "applied"' in status, status)
        pin = boot.out("grep -c '^pin = \"4321\"' /etc/evy/evy.toml; stat -c %a:%G /etc/evy/evy.toml")
        report.add("modem PIN in the agent config, readable by evy only", pin.split() == ["1", "640:evy"], pin)
        report.add("machine-id generated", bool(re.fullmatch(r"[0-9a-f]{32}", boot.out("cat /etc/machine-id"))))
        report.add("SSH host keys on the data partition",
                   boot.sh("test -s /var/lib/evy/ssh/ssh_host_ed25519_key")[0] == 0)
        sshd = boot.out("sshd -T 2>/dev/null | grep -Ei '^(passwordauthentication|kbdinteractiveauthentication) '")
        report.add("SSH is key-only", sshd.lower().count(" no") == 2, sshd.replace("\n", "; "))
        _ssh_login(report, seed, ssh_port, "first boot")
        agent_state = boot.wait_active("evy-agent.service", 240)
        detail = agent_state if agent_state == "active" else boot.out(
            "journalctl -u evy-agent --no-pager -n 8 -o cat")[-600:]
        report.add("agent service active", agent_state == "active", detail)
        sandbox = boot.out("systemctl show evy-agent -p ProtectSystem -p User -p WatchdogUSec -p Restart "
                           "-p StartLimitIntervalUSec -p MemoryDenyWriteExecute -p IPAddressDeny")
        report.add("agent sandboxed with a watchdog, never given up on",
                   all(f in sandbox for f in ("ProtectSystem=strict", "User=evy", "WatchdogUSec=1min",
                                              "StartLimitIntervalUSec=0", "MemoryDenyWriteExecute=yes",
                                              "IPAddressDeny=")) and "0.0.0.0/0" in sandbox and "::/0" in sandbox,
                   sandbox.replace("\n", " "))
        gateway = boot.sh("python3 -c 'import meshtastic.serial_interface, meshtastic.tcp_interface'", timeout=120)
        report.add("Meshtastic library importable (the gateway's interfaces)", gateway[0] == 0, gateway[1][-200:])
        record_times(report, "boot1", boot.boot_times(to_login, work / "boot1-analyze.txt"))
        if modem is not None and agent_state == "active":
            _sms_round_trip(boot, report, modem)  # under MemoryDenyWriteExecute: llama.cpp answers
            _console_shows_the_sms(boot, report, seed)
        if agent_state == "active":
            _mesh_joined(boot, report, seed)
        token = secrets.token_hex(8)
        boot.sh(f"echo {token} > /var/lib/evy/boot-test.marker && echo {token} > /etc/boot-test.marker && sync")
        boot.poweroff()
        return token
    except BootTestError as exc:
        report.add("first boot", False, str(exc))
        return None
    finally:
        boot.console.kill()


def _field_image_over_ssh(boot: Guest, report: BootReport, seed: KitSeed, port: int, token: str | None
                          ) -> str | None:
    """A field image has no console login: log in over SSH with the seeded key (the only way in) and check
    the kit from there. First boot (token None) returns the token it wrote to the data partition."""
    when = "first boot" if token is None else "second boot"
    deadline, result = time.monotonic() + 300, None
    while time.monotonic() < deadline:  # sshd may still be starting when the login prompt shows
        try:
            result = ssh_run(seed, port, "cat /etc/hostname")
        except subprocess.TimeoutExpired:
            continue
        if result.returncode == 0:
            break
        time.sleep(5)
    ok = result is not None and result.stdout.strip() == seed.hostname
    report.add(f"field image: SSH login with the seeded key ({when})", ok,
               "" if result is None else (result.stdout + result.stderr).strip()[-200:])
    if not ok:
        return None
    checks = ssh_run(seed, port, "systemctl is-active evy-agent; cat /var/lib/evy/firstboot-status.json; "
                                 "cat /var/lib/evy/boot-test.marker 2>/dev/null; true", 300).stdout.split("\n")
    report.add(f"field image: agent active, seed applied ({when})", checks[0] == "active"
               and '"seed": "applied"' in checks[1], " ".join(checks)[:200])
    if token is not None:
        report.add("field image: data partition file survived the reboot", token in checks)
        ssh_run(seed, port, "systemctl --no-block poweroff")
        boot.console.stop(120)
        return token
    token = secrets.token_hex(8)
    ssh_run(seed, port, f"echo {token} > /var/lib/evy/boot-test.marker && sync && systemctl --no-block poweroff")
    boot.console.stop(120)
    return token


def _grown_data_check(boot: Guest, report: BootReport, image_data_bytes: int) -> None:
    """sysfs sectors of the card and of the data partition, and the mounted filesystem's size in bytes."""
    sizes = boot.out("p=$(basename $(readlink -f /dev/disk/by-label/EVYDATA)); d=$(basename $(readlink -f "
                     "/sys/class/block/$p/..)); cat /sys/class/block/$d/size /sys/class/block/$p/start "
                     "/sys/class/block/$p/size; df -B1 --output=size /var/lib/evy | tail -1")
    try:
        disk, start, size, filesystem = (int(n) for n in sizes.split())
        ok = (disk - (start + size)) * 512 < 16 << 20 and filesystem > image_data_bytes + (CARD_EXTRA_MIB << 19)
    except ValueError:
        ok = False
    report.add("data partition and its ext4 grown to the end of a bigger card", ok,
               f"card/start/size sectors, fs bytes: {sizes.split()}")


def _ssh_login(report: BootReport, seed: KitSeed, port: int, when: str) -> None:
    try:
        result = ssh_run(seed, port, "cat /etc/hostname")
        ok, detail = result.stdout.strip() == seed.hostname, (result.stdout + result.stderr).strip()[-200:]
    except subprocess.TimeoutExpired:
        ok, detail = False, "ssh timed out"
    report.add(f"SSH login with the seeded key ({when})", ok, detail)


def _mesh_joined(boot: Guest, report: BootReport, seed: KitSeed) -> None:
    """The seeded key is the agent's: on the UDP radio twin (no SX1276 in QEMU) the agent opens the mesh node
    with it, and `evy mesh status` shows the kit in that network."""
    try:
        since = boot.use_udp_radio("127.0.0.1:47700", ["127.0.0.1:47701"], "localhost")
        line = boot.wait_log("evy-agent", "mesh node 0x[0-9a-f]+ up|not joining the mesh", 240, since)
        status = boot.mesh_status()
        ok = ("up" in line and status.get("key_configured") is True and status.get("network") == seed.network_id()
              and bool(status.get("node_id")))
        report.add("agent joined the mesh with the seeded key (evy mesh status)", ok,
                   f"{line}; network {status.get('network')} node {status.get('node_id')}")
    except BootTestError as exc:
        report.add("agent joined the mesh with the seeded key (evy mesh status)", False, str(exc))


def _mount_checks(boot: Guest, report: BootReport) -> None:
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


def _sms_round_trip(boot: Guest, report: BootReport, modem) -> None:
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


# Run inside the guest: log in to the console as the operator and list the cases (sender, last message).
CONSOLE_CLIENT = """\
import http.cookiejar, json, re, sys, urllib.parse, urllib.request
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
base = "http://10.42.0.1:8080"
page = web.open(base + "/login", timeout=60).read().decode()
token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
form = {"csrf": token, "account": "operator", "password": sys.argv[1]}
web.open(base + "/login", urllib.parse.urlencode(form).encode(), timeout=120)
cases = json.load(web.open(base + "/api/cases", timeout=60))["cases"]
print("CASES=" + json.dumps([[case["sender"], case["last_message"]] for case in cases]))
"""


def _console_shows_the_sms(boot: Guest, report: BootReport, seed: KitSeed) -> None:
    """The operator console (its own unit, on the access point's address) shows the SMS just answered. The
    guest has no access point, so its address is put on loopback, where the console binds it (IP_FREEBIND)."""
    name = "operator console logs in and shows the SMS on its board"
    state = boot.wait_active("evy-console.service", 120)
    if state != "active":
        report.add(name, False, f"evy-console {state}: " + boot.out(
            "journalctl -u evy-console --no-pager -n 6 -o cat")[-400:])
        return
    script = base64.b64encode(CONSOLE_CLIENT.encode()).decode()
    boot.sh("ip addr add 10.42.0.1/32 dev lo 2>/dev/null; true")
    code, out = boot.sh(f"echo {script} | base64 -d > /run/console-client.py && "
                        f"python3 /run/console-client.py '{seed.console_password}'", timeout=300)
    listed = next((line.removeprefix("CASES=") for line in out.splitlines() if line.startswith("CASES=")), "")
    try:
        cases = json.loads(listed) if listed else []
    except json.JSONDecodeError:
        cases = []
    shown = any(sender == SMS_SENDER and "breathing" in (text or "") for sender, text in cases)
    detail = (listed or out)[-300:]
    if not (code == 0 and shown):
        detail += " | console log: " + boot.out("journalctl -u evy-console --no-pager -n 25 -o cat")[-1500:]
    report.add(name, code == 0 and shown, detail)


def _second_boot(argv: list[str], report: BootReport, timeout: float, token: str, seed: KitSeed,
                 ssh_port: int, work: Path) -> None:
    boot = Guest(argv, report.log, timeout)
    try:
        to_login = boot.to_login()
        report.timings["boot2_to_login"] = to_login
        try:
            boot.login()
        except BootTestError:
            _field_image_over_ssh(boot, report, seed, ssh_port, token)
            return
        report.add("data partition file survived the reboot",
                   boot.out("cat /var/lib/evy/boot-test.marker") == token)
        report.add("file written to /etc did not survive (read-only root)",
                   boot.sh("test -e /etc/boot-test.marker")[0] != 0)
        report.add("hostname from the seed kept", boot.out("cat /etc/hostname") == seed.hostname,
                   boot.out("cat /etc/hostname"))
        report.add("first boot ran once only", boot.out("systemctl is-active evy-firstboot") != "active"
                   or boot.sh("journalctl -b -u evy-firstboot -o cat | grep -q 'SSH host keys generated'")[0] != 0)
        state = boot.wait_active("evy-agent.service", 240)
        report.add("agent service active after reboot", state == "active", state)
        boot.out("systemctl is-system-running --wait", timeout=300)
        times = boot.boot_times(to_login, work / "boot2-analyze.txt")
        record_times(report, "boot2", times)
        report.add("agent serving after reboot (modem opened: its device class allowed in time)",
                   times.agent_serving is not None,
                   "" if times.agent_serving else boot.out("journalctl -b -u evy-agent -o cat -n 3")[-300:])
        _ssh_login(report, seed, ssh_port, "second boot")
        boot.poweroff()
    except BootTestError as exc:
        report.add("second boot", False, str(exc))
    finally:
        boot.console.kill()


BAD_SEED = 'hostname = "Bad_Host"\n[modem]\npin = "9876"\n'


def _bad_seed_then_corrected(argv: list[str], disk: Path, report: BootReport, timeout: float,
                             seed: KitSeed) -> None:
    """A technician puts a bad seed on the card (third boot): it is wiped with its PIN, the error is on the
    console and in the status file; then a corrected one (fourth boot) is applied."""
    put_seed(disk, BAD_SEED)
    boot = Guest(argv, report.log, timeout)
    try:
        boot.to_login()
        boot.login()
        console = boot.console.text_since(0)
        report.add("bad seed: error on the console", "evy-firstboot: ERROR: seed file" in console and
                   "hostname" in console)
        leftovers = boot.out("ls /boot/firmware | grep -i seed; grep -rl 9876 /boot/firmware /var/lib/evy "
                             "/etc/evy 2>/dev/null; cat /var/lib/evy/firstboot-status.json")
        report.add("bad seed: wiped with its PIN, rejected in the status file",
                   "evy-seed.toml" not in leftovers.split() and "evy-seed.rejected.txt" in leftovers
                   and "9876" not in leftovers and '"seed": "rejected"' in leftovers, leftovers.replace("\n", " "))
        boot.poweroff()
    except BootTestError as exc:
        report.add("bad seed boot", False, str(exc))
        return
    finally:
        boot.console.kill()
    put_seed(disk, seed.text().replace(seed.hostname, "evy-reseeded"))
    boot = Guest(argv, report.log, timeout)
    try:
        boot.to_login()
        boot.login()
        state = boot.out("cat /etc/hostname; ls /boot/firmware | grep -i seed; "
                         "cat /var/lib/evy/firstboot-status.json")
        report.add("corrected seed applied at the next boot", state.startswith("evy-reseeded") and
                   "evy-seed.rejected.txt" not in state and '"seed": "applied"' in state, state.replace("\n", " "))
        boot.poweroff()
    except BootTestError as exc:
        report.add("corrected seed boot", False, str(exc))
    finally:
        boot.console.kill()
