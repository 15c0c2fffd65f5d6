#!/usr/bin/python3
"""EVY first boot (runs once, before SSH, the network and the agent): give this card its own identity and
apply the per-kit seed file that the field team put on the FAT boot partition, then wipe its secrets.

Identity: a new machine-id (written to the read-only lower root, briefly remounted read-write) and new SSH
host keys (on the data partition). The seed file ``evy-seed.toml`` may set:

    hostname = "evy-kit-07"
    country = "KE"                    # emergency numbers and the Wi-Fi regulatory domain
    ssh_authorized_keys = ["ssh-ed25519 AAAA... tech@hq"]
    [wifi]
    mode = "client"                   # "client", "ap" or "off"
    ssid = "clinic"
    psk = "8 to 63 characters"
    channel = 6                       # ap mode only
    [modem]
    pin = "1234"
    [mesh]
    key = "64 hex digits"

Afterwards the seed file is overwritten and removed; ``evy-seed.applied.toml`` keeps its non-secret part.
Stdlib only: this runs on the kit.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SEED_NAME = "evy-seed.toml"
APPLIED_NAME = "evy-seed.applied.toml"
DONE_MARKER = ".firstboot-done"
AGENT_CONFIG = Path("etc/evy/evy.toml")
SECRET_KEYS = {("wifi", "psk"), ("modem", "pin"), ("mesh", "key")}
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PIN = re.compile(r"^[0-9]{4,8}$")
_MESH_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
              "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


class SeedError(ValueError):
    """The seed file is wrong; the message names the key. Nothing has been applied when this is raised."""


# ---------------------------------------------------------------- seed validation

def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "\n\r\0"):
        raise SeedError(f"{key}: expected a one-line string, got {value!r}")
    return value


def validate(seed: dict[str, Any]) -> dict[str, Any]:
    """Check every key; returns the seed unchanged. Unknown keys are errors (a typo must not pass silently)."""
    known = {"hostname", "country", "ssh_authorized_keys", "wifi", "modem", "mesh"}
    for key in seed:
        if key not in known:
            raise SeedError(f"{key}: unknown key (known: {', '.join(sorted(known))})")
    if "hostname" in seed and not _HOSTNAME.match(_text(seed["hostname"], "hostname")):
        raise SeedError(f"hostname: {seed['hostname']!r} is not a valid hostname (a-z, 0-9, dashes)")
    if "country" in seed and not _COUNTRY.match(_text(seed["country"], "country")):
        raise SeedError(f"country: expected two capital letters (ISO 3166), got {seed['country']!r}")
    keys = seed.get("ssh_authorized_keys", [])
    if not isinstance(keys, list):
        raise SeedError("ssh_authorized_keys: expected a list of public key lines")
    for index, line in enumerate(keys):
        if _text(line, f"ssh_authorized_keys[{index}]").split()[0] not in _KEY_TYPES:
            raise SeedError(f"ssh_authorized_keys[{index}]: not an OpenSSH public key line")
    wifi = seed.get("wifi", {})
    if not isinstance(wifi, dict):
        raise SeedError("wifi: expected a table")
    for key in wifi:
        if key not in ("mode", "ssid", "psk", "channel"):
            raise SeedError(f"wifi.{key}: unknown key (known: mode, ssid, psk, channel)")
    mode = wifi.get("mode", "off")
    if mode not in ("client", "ap", "off"):
        raise SeedError(f"wifi.mode: must be client, ap or off; got {mode!r}")
    if mode != "off":
        ssid = _text(wifi.get("ssid"), "wifi.ssid")
        if len(ssid.encode()) > 32:
            raise SeedError("wifi.ssid: longer than 32 bytes")
        psk = _text(wifi.get("psk"), "wifi.psk")
        if not 8 <= len(psk) <= 63:
            raise SeedError("wifi.psk: must be 8 to 63 characters")
        if "country" not in seed:
            raise SeedError("wifi: needs `country` (the regulatory domain) as well")
    channel = wifi.get("channel", 6)
    if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 13:
        raise SeedError(f"wifi.channel: expected 1 to 13, got {channel!r}")
    for table, key, pattern, what in (("modem", "pin", _PIN, "4 to 8 digits"),
                                      ("mesh", "key", _MESH_KEY, "64 hex digits")):
        section = seed.get(table, {})
        if not isinstance(section, dict):
            raise SeedError(f"{table}: expected a table")
        for name in section:
            if name != key:
                raise SeedError(f"{table}.{name}: unknown key (known: {key})")
        if key in section and not pattern.match(_text(section[key], f"{table}.{key}")):
            raise SeedError(f"{table}.{key}: expected {what}")
    return seed


def public_part(seed: dict[str, Any]) -> dict[str, Any]:
    """The seed without its secrets (kept on the boot partition as a record of what was applied)."""
    kept: dict[str, Any] = {}
    for key, value in seed.items():
        if isinstance(value, dict):
            inner = {k: v for k, v in value.items() if (key, k) not in SECRET_KEYS}
            if inner:
                kept[key] = inner
        else:
            kept[key] = value
    return kept


# ---------------------------------------------------------------- small TOML writer (stdlib has none)

def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # JSON escapes are TOML escapes, except that TOML also forbids a raw DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_toml(data: dict[str, Any]) -> str:
    """TOML for a table of scalars, lists and one level of sub-tables (all an agent config needs)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{name}]", *(f"{k} = {_toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def wpa_psk(ssid: str, passphrase: str) -> str:
    """The 256-bit WPA PSK, so the passphrase itself is never stored on the card."""
    return hashlib.pbkdf2_hmac("sha1", passphrase.encode(), ssid.encode(), 4096, 32).hex()


# ---------------------------------------------------------------- applying

class FirstBoot:
    def __init__(self, root: Path, lower: Path | None, boot: Path, data_dir: Path, remount: bool) -> None:
        self.root, self.lower, self.boot, self.data = root, lower, boot, data_dir
        self.remount = remount

    def log(self, text: str) -> None:
        print(f"evy-firstboot: {text}", flush=True)

    def run(self, *argv: str) -> None:
        subprocess.run(argv, check=True)

    def _targets(self, rel: Path) -> list[Path]:
        """A system file is written to the running root and, under overlayroot, to the lower root too."""
        paths = [self.root / rel]
        if self.lower is not None:
            paths.append(self.lower / rel)
        return paths

    def write_system_file(self, rel: Path, text: str, mode: int = 0o644, group: str | None = None,
                          lower_only: bool = False) -> None:
        targets = self._targets(rel)
        if lower_only and self.lower is not None:
            targets = targets[1:]
        for path in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            in_lower = self.lower is not None and path.is_relative_to(self.lower)
            if in_lower and path.exists() and not path.is_symlink():
                # Rewrite in place: replacing would leave the old inode unlinked-but-open (the overlay may
                # hold it), and ext4 then refuses to go back to read-only ("busy") until the next boot.
                with path.open("r+", encoding="utf-8") as handle:
                    handle.truncate(0)
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                written = path
            else:
                written = path.with_name(f".{path.name}.new")
                written.write_text(text, encoding="utf-8")
            os.chmod(written, mode)
            if group and os.geteuid() == 0:
                import grp
                with contextlib.suppress(KeyError):  # no such group: leave it root's
                    os.chown(written, 0, grp.getgrnam(group).gr_gid)
            if written != path:
                os.replace(written, path)

    def enable(self, unit: str, target: str = "multi-user.target") -> None:
        link = Path("etc/systemd/system") / f"{target}.wants" / unit
        template = unit.split("@")[0] + "@.service" if "@" in unit else unit
        for path in self._targets(link):
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_symlink():
                path.symlink_to(f"/usr/lib/systemd/system/{template}")

    # -- identity
    def machine_id(self) -> None:
        current = (self.root / "etc/machine-id").read_text().strip() if (self.root / "etc/machine-id").exists() else ""
        valid = re.fullmatch(r"[0-9a-f]{32}", current) is not None
        new = current if valid else uuid.uuid4().hex
        # systemd has usually put a transient id on /etc/machine-id (a bind mount that can't be replaced):
        # keep that one and commit it to the lower root, so the next boots use it.
        self.write_system_file(Path("etc/machine-id"), new + "\n", 0o444, lower_only=valid)
        self.log(f"machine-id {new[:8]}…")

    def ssh_host_keys(self) -> None:
        keys = self.data / "ssh"
        keys.mkdir(parents=True, exist_ok=True)
        for kind, bits in (("ed25519", []), ("rsa", ["-b", "3072"])):
            key = keys / f"ssh_host_{kind}_key"
            if not key.exists():
                self.run("ssh-keygen", "-q", "-t", kind, *bits, "-N", "", "-C", f"root@{kind}", "-f", str(key))
        self.log("SSH host keys generated")

    # -- seed
    def apply_seed(self, seed: dict[str, Any]) -> None:
        if "hostname" in seed:
            name = seed["hostname"]
            self.write_system_file(Path("etc/hostname"), name + "\n")
            self.write_system_file(Path("etc/hosts"), f"127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n"
                                   "::1\t\tlocalhost ip6-localhost ip6-loopback\n")
            if self.root == Path("/"):
                self.run("hostname", name)
            self.log(f"hostname {name}")
        self._agent_config(seed)
        if seed.get("ssh_authorized_keys"):
            folder = self.data / "ssh" / "authorized_keys"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / "root"
            target.write_text("\n".join(seed["ssh_authorized_keys"]) + "\n", encoding="utf-8")
            target.chmod(0o600)
            self.log(f"{len(seed['ssh_authorized_keys'])} SSH authorized key(s) for root")
        if "key" in seed.get("mesh", {}):
            secrets = self.data / "secrets"
            secrets.mkdir(parents=True, exist_ok=True)
            key_file = secrets / "mesh.key"
            key_file.write_text(seed["mesh"]["key"].lower() + "\n", encoding="utf-8")
            key_file.chmod(0o600)
            self._chown_evy(secrets, key_file)
            self.log("mesh key stored")
        self._wifi(seed)

    def _chown_evy(self, *paths: Path) -> None:
        if os.geteuid() != 0:
            return
        import pwd
        try:
            entry = pwd.getpwnam("evy")
        except KeyError:
            return
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _agent_config(self, seed: dict[str, Any]) -> None:
        if "country" not in seed and "pin" not in seed.get("modem", {}):
            return
        path = self.root / AGENT_CONFIG
        config = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if "country" in seed:
            config["country"] = seed["country"]
        if "pin" in seed.get("modem", {}):
            config.setdefault("modem", {})["pin"] = seed["modem"]["pin"]
        self.write_system_file(AGENT_CONFIG, dumps_toml(config), 0o640, group="evy")
        self.log("agent config updated (country, modem PIN)")

    def _wifi(self, seed: dict[str, Any]) -> None:
        wifi, country = seed.get("wifi", {}), seed.get("country")
        if country:
            self.write_system_file(Path("etc/modprobe.d/evy-wifi.conf"),
                                   f"options cfg80211 ieee80211_regdom={country}\n")
        mode = wifi.get("mode", "off")
        if mode == "client":
            self.write_system_file(
                Path("etc/wpa_supplicant/wpa_supplicant-wlan0.conf"),
                f"ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev\ncountry={country}\nupdate_config=0\n\n"
                f"network={{\n\tssid={json.dumps(wifi['ssid'])}\n\tpsk={wpa_psk(wifi['ssid'], wifi['psk'])}\n}}\n",
                0o600)
            self.enable("wpa_supplicant@wlan0.service")
            self.log(f"Wi-Fi client for {wifi['ssid']!r}")
        elif mode == "ap":
            self.write_system_file(
                Path("etc/hostapd/hostapd.conf"),
                f"interface=wlan0\ndriver=nl80211\nssid={wifi['ssid']}\ncountry_code={country}\nhw_mode=g\n"
                f"channel={wifi.get('channel', 6)}\nieee80211d=1\nwpa=2\nwpa_key_mgmt=WPA-PSK\n"
                f"rsn_pairwise=CCMP\nwpa_psk={wpa_psk(wifi['ssid'], wifi['psk'])}\n", 0o600)
            self.write_system_file(
                Path("etc/systemd/network/25-wireless.network"),
                "# Access point (from the seed file): the kit serves addresses to phones that join.\n"
                "[Match]\nName=wlan0\n\n[Network]\nAddress=10.42.0.1/24\nDHCPServer=yes\n\n"
                "[DHCPServer]\nPoolOffset=10\nPoolSize=100\nEmitDNS=no\n")
            self.enable("hostapd.service")
            self.log(f"Wi-Fi access point {wifi['ssid']!r}")

    # -- the seed file on FAT
    def read_seed(self) -> dict[str, Any] | None:
        path = self.boot / SEED_NAME
        if not path.exists():
            return None
        try:
            return validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SeedError(f"not valid TOML: {exc}") from None

    def wipe_seed(self, seed: dict[str, Any]) -> None:
        path = self.boot / SEED_NAME
        record = dumps_toml(public_part(seed))
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        (self.boot / APPLIED_NAME).write_text(f"# applied by evy-firstboot at {stamp}; secrets removed\n"
                                              + record, encoding="utf-8")
        size = path.stat().st_size
        with path.open("r+b") as handle:  # overwrite in place before unlinking (FAT keeps the clusters)
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        self.log(f"seed file applied and wiped from {self.boot}")

    def _remount(self, mountpoint: Path | None, mode: str) -> None:
        if not (self.remount and mountpoint is not None and os.path.ismount(mountpoint)):
            return
        if mode == "rw":
            self.run("mount", "-o", "remount,rw", str(mountpoint))
            return
        for _attempt in range(10):  # "busy" for a moment after writes; read-only again at the next boot anyway
            os.sync()
            if subprocess.run(["mount", "-o", "remount,ro", str(mountpoint)]).returncode == 0:
                return
            time.sleep(1)
        self.log(f"warning: could not remount {mountpoint} read-only; it will be at the next boot")

    def main(self) -> int:
        seed_error = None
        try:
            seed = self.read_seed()
        except SeedError as exc:
            seed, seed_error = None, exc
        self._remount(self.lower, "rw")
        try:
            self.machine_id()
            self.ssh_host_keys()
            if seed is not None:
                self.apply_seed(seed)
        finally:
            os.sync()
            self._remount(self.lower, "ro")
        if seed is not None:
            self._remount(self.boot, "rw")
            try:
                self.wipe_seed(seed)
            finally:
                os.sync()
                self._remount(self.boot, "ro")
        (self.data / DONE_MARKER).write_text(datetime.now(UTC).isoformat() + "\n", encoding="utf-8")
        os.sync()
        if seed_error is not None:
            # Identity is done; the seed stays on FAT for the technician to fix, and we say why.
            self.log(f"seed file {self.boot / SEED_NAME} NOT applied: {seed_error}")
            return 1
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/"))
    parser.add_argument("--lower", type=Path, default=Path("/media/root-ro"),
                        help="overlayroot's read-only lower root (ignored if not mounted)")
    parser.add_argument("--boot", type=Path, default=Path("/boot/firmware"))
    parser.add_argument("--data-dir", type=Path, default=Path("/var/lib/evy"))
    parser.add_argument("--no-remount", action="store_true", help="don't remount (tests, unpacked trees)")
    args = parser.parse_args(argv)
    lower = args.lower if args.lower.is_dir() and (args.no_remount or os.path.ismount(args.lower)) else None
    return FirstBoot(args.root, lower, args.boot, args.data_dir, remount=not args.no_remount).main()


if __name__ == "__main__":
    sys.exit(main())
