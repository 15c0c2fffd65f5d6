"""`invoke boot-test-mesh`: two kits from one image in two QEMU guests, joined by a virtual cable (a QEMU
socket netdev on the host's loopback) that carries the agents' UDP radio twin. Kit A has lost cellular
coverage (its simulated modem is not registered) and holds an SMS from a phone; kit B has coverage. A's
agent must answer, hand the reply to B over the mesh, and B must send it as an SMS: the relay of
tests/pipeline/test_mesh_relay.py, on the image itself."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from evyimage import hostcheck
from evyimage.boottest import REPO, BootReport, KitSeed, free_port, load_agent
from evyimage.errors import BootTestError
from evyimage.guest import Guest, extract_boot, qemu_cmdline, qemu_command, scratch_disk

PHONE = "+254711000222"
SUBNET = "10.99.0"
RADIO_PORT = 47700


@dataclass
class Kit:
    name: str
    address: str
    mac: str
    modem: object
    guest: Guest | None = None
    since: str = ""  # the guest's clock when its agent was restarted on the lab link


def run_mesh_test(image: Path, timeout: float = 900, keep: bool = False) -> BootReport:
    hostcheck.require_tools(hostcheck.BOOT_TEST_TOOLS | {"mtype": "mtools", "sfdisk": "fdisk",
                                                         "ssh-keygen": "openssh-client"})
    if not image.exists():
        raise BootTestError(f"{image} does not exist; run `invoke build-image --profile hil` first")
    work = REPO / "build" / "boot-test-mesh" / image.stem
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    report = BootReport(image, log=work / "kit-a.console.log")
    agent = load_agent()
    offline, online = agent.ModemSimulator(registered=False).start(), agent.ModemSimulator().start()
    kits = [Kit("a", f"{SUBNET}.1", "52:54:00:e5:00:0a", offline), Kit("b", f"{SUBNET}.2", "52:54:00:e5:00:0b", online)]
    mesh_key = KitSeed.make(work, "unused").mesh_key  # one network key for both kits
    cable = free_port()
    try:
        for kit, link in zip(kits, (f"listen=127.0.0.1:{cable}", f"connect=127.0.0.1:{cable}"), strict=True):
            disk = work / f"kit-{kit.name}.img"
            seed = KitSeed.make(work, f"evy-kit-{kit.name}", mesh_key)
            scratch_disk(image, disk, seed.text())
            kernel, initrd, cmdline = extract_boot(disk, work)
            argv = qemu_command(disk, kernel, initrd, qemu_cmdline(cmdline), kit.modem.port, lab_link=link,
                                lab_mac=kit.mac)
            (work / f"kit-{kit.name}.qemu.sh").write_text(" ".join(argv) + "\n", encoding="utf-8")
            kit.guest = Guest(argv, work / f"kit-{kit.name}.console.log", timeout)
        begun = time.monotonic()
        kits[0].guest.boot_in_background()
        time.sleep(3)  # the listening end of the cable must exist before the other guest connects
        kits[1].guest.boot_in_background()
        _relay(kits, report, begun, timeout)
    except BootTestError as exc:
        report.add("two-kit mesh relay", False, str(exc))
    finally:
        for kit in kits:
            if kit.guest is not None:
                kit.guest.console.kill()
            kit.modem.stop()
        if not keep:
            for disk in work.glob("kit-*.img"):
                disk.unlink()
    if not report.ok:
        for line in report.lines():
            print(line)
        raise BootTestError(f"two-kit mesh test failed (console logs in {work})")
    return report


def _relay(kits: list[Kit], report: BootReport, begun: float, timeout: float) -> None:
    agent = load_agent()
    for kit in kits:
        report.timings[f"kit_{kit.name}_to_login"] = kit.guest.wait_login()
        kit.guest.login()
        kit.guest.out("systemctl is-system-running --wait", timeout=600)
        peer = next(other for other in kits if other is not kit)
        kit.guest.lab_interface(kit.mac, f"{kit.address}/24")
        if kit.name == "a":  # it arrived before the kit lost coverage: on the SIM when the agent (re)starts
            for _, pdu in agent.deliver_parts(PHONE, "we are cut off, 4 people, one with a broken leg"):
                kit.modem.store(pdu)
        kit.guest.set_agent_config({"outbox": {"network_hold": 5.0, "backoff": 1.0}, "brain": {"followup": False},
                                    "modem": {"status_reports": False}})
        kit.since = kit.guest.use_udp_radio(f"{kit.address}:{RADIO_PORT}", [f"{peer.address}:{RADIO_PORT}"],
                                            f"{SUBNET}.0/24", beacon_interval=5.0, spreading_factor=7)
    report.timings["both_kits_ready"] = time.monotonic() - begun
    for kit in kits:
        line = kit.guest.wait_log("evy-agent", "mesh node 0x[0-9a-f]+ up|not joining the mesh", 300, kit.since)
        report.add(f"kit {kit.name} joined the mesh", " up" in line, line)
    started = time.monotonic()
    replies = []
    while time.monotonic() - started < timeout and not any(r.complete for r in replies):
        time.sleep(1)
        replies = agent.join_replies(list(kits[1].modem.sent))
    if not any(r.complete for r in replies):
        logs = "; ".join(kit.guest.out("journalctl -u evy-agent --no-pager -n 5 -o cat")[-300:] for kit in kits)
        report.add("kit B sent kit A's reply as an SMS", False, f"nothing sent in {timeout:.0f} s; {logs}")
        return
    report.timings["relay"] = time.monotonic() - started
    reply = next(r for r in replies if r.complete)
    report.add("kit B sent kit A's reply as an SMS", reply.recipient == PHONE,
               f"to {reply.recipient}: {reply.text[:80]}")
    report.add("kit A sent nothing itself (no coverage)", not kits[0].modem.sent)
    handed = kits[0].guest.out("journalctl -u evy-agent -o cat --no-pager | grep -m1 'over the mesh'")
    report.add("kit A handed the reply over the mesh", "over the mesh" in handed, handed)
