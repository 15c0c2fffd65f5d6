"""A Mosquitto broker of our own on loopback, for the fleet tests and `invoke bench fleet`: a generated
config with persistence, TLS from a CA made on the spot (``cryptography``), and a login per kit
(``mosquitto_passwd``). Stop it with SIGTERM to keep its sessions (it saves them), or SIGKILL it.
"""

from __future__ import annotations

import datetime
import getpass
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from evy.errors import EvyError


class BrokerError(EvyError):
    """The local broker cannot be started (mosquitto missing, port busy)."""


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_test_ca(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): a throwaway CA and a server certificate for ``host``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, key, issuer_name, issuer_key, ca: bool):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                                            critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evy test fleet CA")])
    ca_cert = build("evy test fleet CA", ca_key, ca_name, ca_key, True)
    server_cert = build(host, server_key, ca_name, ca_key, False)
    pem = serialization.Encoding.PEM
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca_cert.public_bytes(pem))
    paths[1].write_bytes(server_cert.public_bytes(pem))
    paths[2].write_bytes(server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


class LocalBroker:
    """``with LocalBroker(tmp, logins={"kit-1": "pw"}) as broker:`` … ``broker.restart()``."""

    def __init__(self, directory: Path, *, logins: dict[str, str] | None = None, tls: bool = True,
                 host: str = "127.0.0.1", port: int | None = None, acl: bool = False):
        self.directory = Path(directory)
        self.logins = logins or {}
        self.acl = acl
        self.tls, self.host = tls, host
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.ca_file: Path | None = None

    def write_config(self) -> Path:
        binary = mosquitto_binary()
        if binary is None:
            raise BrokerError("mosquitto is not installed (Debian: apt-get install mosquitto; `invoke setup`)")
        self.directory.mkdir(parents=True, exist_ok=True)
        # run as root, Mosquitto would switch to its own user, who cannot read a private temporary directory
        lines = ([f"user {getpass.getuser()}"] if os.geteuid() == 0 else []) + [
                 f"listener {self.port} {self.host}", "persistence true", f"persistence_location {self.directory}/",
                 # every 10 s (and at SIGTERM). Not on every change: each save rewrites the whole file, and with
                 # thousands of queued messages the broker then does nothing else (docs/fleet.md)
                 "autosave_interval 10",
                 "max_queued_messages 0", "max_inflight_messages 20", "log_dest stderr", "log_type error",
                 "log_type warning"]
        if self.logins:
            passwords = self.directory / "passwords"
            passwords.write_text("".join(f"{user}:{password}\n" for user, password in self.logins.items()))
            subprocess.run(["mosquitto_passwd", "-U", str(passwords)], check=True, capture_output=True)
            lines += [f"password_file {passwords}", "allow_anonymous false"]
        if self.acl:  # as docs/fleet.md advises: a kit writes under its own id only, the cell reads all
            acl = self.directory / "acl"
            acl.write_text("user evy-hq\ntopic read evy/v1/#\npattern write evy/v1/%c/#\n")
            lines.append(f"acl_file {acl}")
        else:
            lines.append("allow_anonymous true")
        if self.tls:
            self.ca_file, cert, key = make_test_ca(self.directory, self.host)
            lines += [f"cafile {self.ca_file}", f"certfile {cert}", f"keyfile {key}"]
        config = self.directory / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self) -> None:
        config = self.directory / "mosquitto.conf"
        if not config.exists():
            config = self.write_config()
        log = open(self.directory / "mosquitto.log", "ab")  # noqa: SIM115 (kept for the process's life)
        self.process = subprocess.Popen([mosquitto_binary(), "-c", str(config)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(f"mosquitto exited at start: {(self.directory / 'mosquitto.log').read_text()[-500:]}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} within 10 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)
        self.process = None

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settings(self, kit: str | None = None) -> dict[str, object]:
        """Config changes (for ``Config.replace``) that point a kit or the cell at this broker."""
        changes: dict[str, object] = {"fleet__broker_host": self.host, "fleet__broker_port": self.port,
                                      "fleet__tls": self.tls,
                                      "fleet__ca_file": str(self.ca_file) if self.ca_file else None}
        if kit is not None and kit in self.logins:
            credentials = self.directory / f"{kit}.credentials"
            credentials.write_text(f"{kit}:{self.logins[kit]}\n")
            credentials.chmod(0o600)
            changes["fleet__credentials_file"] = str(credentials)
        return changes
