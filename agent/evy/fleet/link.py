"""One MQTT connection to the fleet broker, as the kit and the coordination cell both open it: a persistent
session (clean session off, client id fixed), TLS with the configured CA, the login from the credentials
file. paho-mqtt is imported here only, so the agent runs without it while the fleet is off.

Works with paho-mqtt 1.6 (Debian bookworm's python3-paho-mqtt) and 2.x: callbacks take ``*rest`` where the
two differ.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evy.errors import EvyError

if TYPE_CHECKING:
    from evy.config import Config


class FleetError(EvyError):
    """The fleet link cannot be set up (no broker configured, unreadable credentials, paho missing)."""


def read_credentials(path: Path) -> tuple[str, str]:
    try:
        line = path.read_text("utf-8").strip()
    except OSError as exc:
        raise FleetError(f"{path}: cannot read the fleet credentials: {exc.strerror}") from None
    username, colon, password = line.partition(":")
    if not colon or not username:
        raise FleetError(f"{path}: expected one line `username:password`")
    return username, password


def _surviving_socket_errors(base: type) -> type:
    """paho's client with every socket error on a read or write reported to paho as a lost connection.

    paho 1.6 (the image's) catches only ConnectionError around its socket reads and writes. A broker that
    goes away under a TLS connection while the client writes (the cell sends a PUBACK for every message of
    a backlog it drains) raises ssl.SSLEOFError, which is not one: it escaped and ended paho's network
    thread for good, so the process lived on without a connection and never reconnected
    (eclipse-paho/paho.mqtt.python#750; paho 2 catches OSError). As ConnectionResetError, paho closes the
    socket, calls on_disconnect and reconnects."""

    class Client(base):
        def _sock_send(self, buf: bytes) -> int:
            try:
                return super()._sock_send(buf)
            except (BlockingIOError, ConnectionError):
                raise
            except OSError as error:
                raise ConnectionResetError(f"connection lost: {error}") from error

        def _sock_recv(self, bufsize: int) -> bytes:
            try:
                return super()._sock_recv(bufsize)
            except (BlockingIOError, ConnectionError):
                raise
            except OSError as error:
                raise ConnectionResetError(f"connection lost: {error}") from error

    return Client


def make_client(config: Config, client_id: str) -> Any:
    """A configured paho client (not connected yet)."""
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise FleetError("paho-mqtt is not installed (Debian: python3-paho-mqtt)") from None
    if not config["fleet.broker_host"]:
        raise FleetError("fleet.broker_host is not set")
    client_class = _surviving_socket_errors(mqtt.Client)
    if hasattr(mqtt, "CallbackAPIVersion"):
        client = client_class(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id, clean_session=False,
                              protocol=mqtt.MQTTv311)
    else:
        client = client_class(client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311)
    if config["fleet.tls"]:
        ca = config["fleet.ca_file"]
        if ca is not None and not Path(ca).is_file():
            raise FleetError(f"{ca}: fleet CA file not found")
        client.tls_set(ca_certs=str(ca) if ca else None, cert_reqs=ssl.CERT_REQUIRED,
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if config["fleet.credentials_file"] is not None:
        client.username_pw_set(*read_credentials(config["fleet.credentials_file"]))
    client.reconnect_delay_set(min_delay=1, max_delay=60)
    # The uplink keeps its own window (fleet.max_in_flight). paho's in-flight counter can stay full across a
    # reconnect and then never send again (eclipse-paho/paho.mqtt.python#24, #698): no limit in paho.
    client.max_inflight_messages_set(0)
    return client


def connect_async(client: Any, config: Config) -> None:
    """Start connecting in the background; paho reconnects by itself after a loss (loop_start)."""
    client.connect_async(config["fleet.broker_host"], config["fleet.broker_port"], keepalive=config["fleet.keepalive"])
