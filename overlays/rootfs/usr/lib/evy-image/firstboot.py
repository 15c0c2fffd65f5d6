#!/usr/bin/python3
"""EVY first boot (before SSH, the network and the agent): give this card its own identity (once) and apply
the per-kit seed file that the field team put on the FAT boot partition (whenever one is there), then wipe it.

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
    key = "32 hex digits"             # the agent's key format, evy/mesh/key_format.json
    [console]
    operator_password_hash = "$argon2id$v=19$..."   # `evy console hash-password`; no hash, no console
    observer_password_hash = "$argon2id$v=19$..."   # optional: a read-only account

Afterwards the seed file is overwritten and removed, valid or not (it holds the Wi-Fi PSK and the modem PIN in
clear text): ``evy-seed.applied.toml`` keeps the non-secret part of an applied seed, ``evy-seed.rejected.txt``
says why a seed was refused (no values), and ``STATUS_NAME`` on the data partition records the outcome for
``evy status``. A corrected seed put back on the card is applied at the next boot.

Standard library only, and the agent is never imported: this must run (identity, wiping secrets) even when
the agent package is broken or half-installed, and before the agent's own dependencies are usable. The mesh
key format is read as data from the agent's declaration instead.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
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

import growdata  # beside this script

SEED_NAME = "evy-seed.toml"
APPLIED_NAME = "evy-seed.applied.toml"
REJECTED_NAME = "evy-seed.rejected.txt"
DONE_MARKER = ".firstboot-done"
STATUS_NAME = "firstboot-status.json"  # on the data partition; read by `evy status`
AGENT_CONFIG = Path("etc/evy/evy.toml")
AUTHORIZED_KEYS = Path("etc/ssh/authorized_keys")  # sshd_config: AuthorizedKeysFile … /etc/ssh/authorized_keys/%u
SECRET_KEYS = {("wifi", "psk"), ("modem", "pin"), ("mesh", "key"), ("console", "operator_password_hash"),
               ("console", "observer_password_hash")}  # a hash can be cracked offline: off the FAT too
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PIN = re.compile(r"^[0-9]{4,8}$")
_ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")
CONSOLE_KEYS = ("operator_password_hash", "observer_password_hash")
_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
              "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


class SeedError(ValueError):
    """The seed file is wrong; the message names the key. Nothing has been applied when this is raised."""


# ---------------------------------------------------------------- seed validation

def _text(value: Any, key: str, secret: bool = False) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "\n\r\0"):
        shown = f"a {type(value).__name__}" if secret else repr(value)  # a secret never reaches the console
        raise SeedError(f"{key}: expected a one-line string, got {shown}")
    return value


def mesh_key_bytes() -> int:
    """The agent's mesh key length, from its one declaration (evy/mesh/key_format.json), read as data."""
    spec = importlib.util.find_spec("evy")  # finds the package without running any of it
    if spec is None or spec.origin is None:
        raise SeedError("mesh.key: the agent (evy) is not installed, so the key format is unknown")
    declared = Path(spec.origin).parent / "mesh" / "key_format.json"
    try:
        return int(json.loads(declared.read_text(encoding="utf-8"))["bytes"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SeedError(f"mesh.key: cannot read the agent's key format {declared}: {exc}") from None


def check_mesh_key(text: str) -> str:
    """The key as the agent will read it (lower-case hex), or SeedError. Never echoes the key."""
    size = mesh_key_bytes()
    if not re.fullmatch(f"[0-9a-fA-F]{{{size * 2}}}", text):
        raise SeedError(f"mesh.key: expected {size * 2} hex digits ({size} bytes; `evy mesh keygen` makes one)")
    if len(set(bytes.fromhex(text))) == 1:
        raise SeedError("mesh.key: a constant byte pattern is not a key; `evy mesh keygen` makes one")
    return text.lower()


def validate(seed: dict[str, Any]) -> dict[str, Any]:
    """Check every key; returns the seed unchanged. Unknown keys are errors (a typo must not pass silently)."""
    known = {"hostname", "country", "ssh_authorized_keys", "wifi", "modem", "mesh", "console"}
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
        psk = _text(wifi.get("psk"), "wifi.psk", secret=True)
        if not 8 <= len(psk) <= 63:
            raise SeedError("wifi.psk: must be 8 to 63 characters")
        if "country" not in seed:
            raise SeedError("wifi: needs `country` (the regulatory domain) as well")
    channel = wifi.get("channel", 6)
    if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= 13:
        raise SeedError(f"wifi.channel: expected 1 to 13, got {channel!r}")
    for table, key in (("modem", "pin"), ("mesh", "key")):
        section = seed.get(table, {})
        if not isinstance(section, dict):
            raise SeedError(f"{table}: expected a table")
        for name in section:
            if name != key:
                raise SeedError(f"{table}.{name}: unknown key (known: {key})")
    pin = seed.get("modem", {}).get("pin")
    if pin is not None and not _PIN.match(_text(pin, "modem.pin", secret=True)):
        raise SeedError("modem.pin: expected 4 to 8 digits")
    if "key" in seed.get("mesh", {}):
        check_mesh_key(_text(seed["mesh"]["key"], "mesh.key", secret=True))
    console = seed.get("console", {})
    if not isinstance(console, dict):
        raise SeedError("console: expected a table")
    for name, value in console.items():
        if name not in CONSOLE_KEYS:
            raise SeedError(f"console.{name}: unknown key (known: {', '.join(CONSOLE_KEYS)})")
        if not _ARGON2ID.match(_text(value, f"console.{name}", secret=True)):
            raise SeedError(f"console.{name}: expected an argon2id hash ($argon2id$v=19$...) from "
                            "`evy console hash-password`, not a password")
    return seed


def key_names(data: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of every key (no values): what a rejected seed held, safe to show."""
    names = []
    for key, value in data.items():
        names += key_names(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]
    return names


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
# A deliberate twin of evy.files.toml_value/toml_document: first boot must give the card its identity and wipe
# the seed's secrets even when the agent package is broken or half-installed, so it imports nothing of evy.
# tests/image/test_image_firstboot.py holds the two to the same output.

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
        self.seed_keys: list[str] = []

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

    def grow_data(self) -> None:
        """The data partition takes the rest of the card (a failure is reported, never fatal)."""
        try:
            growdata.grow(self.data, self.log)
        except (growdata.GrowError, OSError, subprocess.SubprocessError) as exc:
            self.log(f"data partition not grown: {one_line(exc)}")

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
        if "key" in seed.get("mesh", {}):
            self._mesh_key(seed["mesh"]["key"])
        self._agent_config(seed)
        if seed.get("ssh_authorized_keys"):
            # sshd (StrictModes) only trusts a key file whose every directory is root's: the data partition
            # is the agent's (evy), so the keys live on the root, committed to the lower like the hostname.
            self.write_system_file(AUTHORIZED_KEYS / "root", "\n".join(seed["ssh_authorized_keys"]) + "\n", 0o644)
            self.log(f"{len(seed['ssh_authorized_keys'])} SSH authorized key(s) for root")
        self._wifi(seed)

    def _mesh_key(self, key: str) -> None:
        """Written where the image's agent config points mesh.key_file (declared once, by the image build)."""
        config = self._read_agent_config()
        target = config.get("mesh", {}).get("key_file")
        if not target:
            raise SeedError(f"mesh.key: /{AGENT_CONFIG} names no mesh.key_file to store it in")
        kit_data = Path(config.get("data_dir", "/var/lib/evy"))
        if not Path(target).is_relative_to(kit_data):
            raise SeedError(f"mesh.key: mesh.key_file {target} is not on the data partition ({kit_data})")
        key_file = self.data / Path(target).relative_to(kit_data)
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(check_mesh_key(key) + "\n")
        os.chmod(key_file, 0o600)
        self._chown_evy(key_file.parent, key_file)
        self.log("mesh key stored")

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

    def _read_agent_config(self) -> dict[str, Any]:
        path = self.root / AGENT_CONFIG
        return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def _agent_config(self, seed: dict[str, Any]) -> None:
        if "country" not in seed and "pin" not in seed.get("modem", {}) and "key" not in seed.get("mesh", {}) \
                and not seed.get("console"):
            return
        config = self._read_agent_config()
        if "country" in seed:
            config["country"] = seed["country"]
        if "pin" in seed.get("modem", {}):
            config.setdefault("modem", {})["pin"] = seed["modem"]["pin"]
        if "key" in seed.get("mesh", {}):
            config.setdefault("mesh", {})["enabled"] = True  # a kit given a network key joins it
        for name, value in seed.get("console", {}).items():
            config.setdefault("console", {})[name] = value
        self.write_system_file(AGENT_CONFIG, dumps_toml(config), 0o640, group="evy")
        self.log("agent config updated (" + ", ".join(
            name for name, given in (("country", "country" in seed), ("modem PIN", "pin" in seed.get("modem", {})),
                                     ("mesh on", "key" in seed.get("mesh", {})),
                                     ("console password", bool(seed.get("console")))) if given) + ")")

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
    def read_seed(self) -> dict[str, Any]:
        path = self.boot / SEED_NAME
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SeedError(f"not valid TOML: {exc}") from None
        self.seed_keys = key_names(data)
        return validate(data)

    def wipe_seed(self, seed: dict[str, Any] | None, error: BaseException | None) -> None:
        """Overwrite and remove the seed file, and leave a secret-free record of what happened beside it."""
        path = self.boot / SEED_NAME
        size = path.stat().st_size
        with path.open("r+b") as handle:  # overwrite in place before unlinking (FAT keeps the clusters)
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if error is None and seed is not None:
            (self.boot / APPLIED_NAME).write_text(f"# applied by evy-firstboot at {stamp}; secrets removed\n"
                                                  + dumps_toml(public_part(seed)), encoding="utf-8")
            (self.boot / REJECTED_NAME).unlink(missing_ok=True)
        else:
            (self.boot / REJECTED_NAME).write_text(
                f"evy-firstboot at {stamp}: {SEED_NAME} was NOT applied and has been wiped (it may hold the Wi-Fi\n"
                f"PSK and the modem PIN). Fix it and put it back; it is applied at the next boot.\n"
                f"error: {one_line(error)}\nkeys it held (values removed): {', '.join(self.seed_keys) or '?'}\n",
                encoding="utf-8")
        self.log(f"seed file {'applied and ' if error is None else ''}wiped from {self.boot}")

    def write_status(self, outcome: str, error: BaseException | None) -> None:
        """``{"seed": "applied"|"rejected"|"none", "error": one line or null, "time": ISO 8601 UTC}``."""
        status = {"seed": outcome, "error": one_line(error) if error is not None else None,
                  "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        target = self.data / STATUS_NAME
        partial = target.with_name(f".{STATUS_NAME}.new")
        partial.write_text(json.dumps(status) + "\n", encoding="utf-8")
        partial.chmod(0o644)
        os.replace(partial, target)

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
        """Identity (once), then the seed if there is one. Whatever happens, a seed file is wiped and the
        outcome written to the status file; a bad seed is reported (console, status) and the unit fails."""
        has_seed = (self.boot / SEED_NAME).exists()
        seed, error = None, None
        if has_seed:
            try:
                seed = self.read_seed()
            except SeedError as exc:
                error = exc
        first = not (self.data / DONE_MARKER).exists()
        if self.remount and first:
            self.grow_data()
        try:
            self._remount(self.lower, "rw")
            try:
                if first:
                    self.machine_id()
                    self.ssh_host_keys()
                if seed is not None:
                    self.apply_seed(seed)
            except (OSError, subprocess.SubprocessError, SeedError) as exc:
                error = error or exc
            finally:
                os.sync()
                self._remount(self.lower, "ro")
        finally:
            if has_seed:
                self._remount(self.boot, "rw")
                try:
                    self.wipe_seed(seed, error)
                finally:
                    os.sync()
                    self._remount(self.boot, "ro")
            self.write_status("none" if not has_seed else "applied" if error is None else "rejected", error)
            os.sync()
        if (self.data / "ssh" / "ssh_host_ed25519_key").exists():
            (self.data / DONE_MARKER).write_text(datetime.now(UTC).isoformat() + "\n", encoding="utf-8")
            os.sync()
        if error is not None:
            what = f"seed file {self.boot / SEED_NAME} NOT applied" if has_seed else "first boot failed"
            self.log(f"ERROR: {what}: {one_line(error)}")
            return 1
        return 0


def one_line(error: BaseException | None) -> str:
    return " ".join(str(error).split()) or type(error).__name__


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
