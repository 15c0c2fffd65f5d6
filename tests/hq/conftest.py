"""The cell's database on both backends: a SQLite file, and a real PostgreSQL server started for the tests
(Debian's postgresql: initdb and pg_ctl, on a unix socket in a temporary directory, run as the `postgres`
user when the tests run as root). Each test gets a schema of its own on that server."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import paho.mqtt.client as mqtt
import pytest

from evy.config import parse
from evy.fleet.broker import LocalBroker, mosquitto_binary
from evy.fleet.link import connect_async, make_client

# From Debian's `postgresql` (declared in tasks.HOST_PACKAGES), whose versioned package puts them off PATH.
POSTGRES_PROGRAMS = ("initdb", "pg_ctl")


def postgres_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    on_path = [shutil.which(program) for program in POSTGRES_PROGRAMS]
    folders = [str(Path(on_path[0]).resolve().parent)] if all(on_path) else []
    for folder in folders + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(os.access(f"{folder}/{program}", os.X_OK) for program in POSTGRES_PROGRAMS):
            return Path(folder)
    return None


class LocalPostgres:
    """A throwaway PostgreSQL cluster listening only on a unix socket in its own directory."""

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.directory = Path(tempfile.mkdtemp(prefix="evy-pg-"))
        self.data = self.directory / "data"
        self.owner = "postgres" if os.geteuid() == 0 else None  # postgres refuses to run as root
        if self.owner is not None:
            entry = pwd.getpwnam(self.owner)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self.user = self.owner or pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        self._run(str(self.binaries / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user,
                  "-E", "UTF8", "--no-sync")
        options = f"-k {self.directory} -c listen_addresses='' -c fsync=off -c max_connections=40"
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, schema: str | None = None) -> str:
        url = f"postgresql://{self.user}@/postgres?host={quote(str(self.directory), safe='')}"
        return url + (f"&options={quote(f'-csearch_path={schema}', safe='')}" if schema else "")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed (Debian: postgresql; invoke setup)")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[dev]')")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as (Debian's "
                        "postgresql package makes it; invoke setup)")
    server = LocalPostgres(binaries)
    server.start()
    yield server
    server.stop()


_schemas = itertools.count(1)


@pytest.fixture()
def postgres_url(postgres_server: LocalPostgres) -> Callable[[], str]:
    """Makes a URL to a fresh, empty schema on the test server (one per call)."""
    import psycopg

    def fresh() -> str:
        name = f"t{os.getpid()}_{next(_schemas)}"
        with psycopg.connect(postgres_server.url(), autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {name}")
        return postgres_server.url(name)

    return fresh


@pytest.fixture(params=["sqlite", "postgresql"])
def hq_location(request, tmp_path: Path) -> Callable[[], Path | str]:
    """Makes the location of a fresh, empty cell database on each backend in turn."""
    if request.param == "sqlite":
        numbers = itertools.count(1)
        return lambda: tmp_path / f"hq-{next(numbers)}.sqlite"
    return request.getfixturevalue("postgres_url")


# -- a cell that has heard from three kits: two recently (one person texted both), one long ago (stale) ------

OPERATOR_PASSWORD = "fleet operator pw 1"
OBSERVER_PASSWORD = "fleet observer pw 1"
SHARED_SENDER = "+254711000222"
XSS = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="session")
def fleet_password_hashes() -> tuple[str, str]:
    from evy.console.auth import hash_password

    return hash_password(OPERATOR_PASSWORD), hash_password(OBSERVER_PASSWORD)


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory) -> Path:
    """The cell's downlink key (what `evy hq keygen` makes); its public line is beside it (``.pub``)."""
    from evy.downlink.keys import SigningKey

    path = tmp_path_factory.mktemp("cell-key") / "downlink.key"
    SigningKey.generate().save(path)
    return path


def fleet_config(hashes: tuple[str, str], database: Path | str, **changes):
    from evy.config import parse

    operator, observer = hashes
    return parse("").replace(console__operator_password_hash=operator, console__observer_password_hash=observer,
                             console__login_attempts=3, hq__database=str(database), hq__stale_after=3600.0,
                             **changes)


def fleet_events(now: float) -> list[tuple[object, float]]:
    """(event, when the cell received it): kit-a and kit-b now, kit-c two days ago."""
    from evy.fleet.events import Event

    def opened(kit, seq, case, sender, priority, at, **data):
        return Event(kit, seq, "cases", "case.opened", at, priority,
                     {"case": case, "sender": sender, "opened_at": at, "status": "new", "priority": priority,
                      "emergency": priority <= 1, **data})

    old = now - 2 * 86400
    return [
        (opened("kit-a", 1, 1, SHARED_SENDER, 0, now - 600, category="fire", location="Lodwar market",
                lat=3.1191, lon=35.5973, people=4), now),
        (Event("kit-a", 2, "cases", "message.in", now - 599, 0,
               {"case": 1, "sender": SHARED_SENDER, "message": 1, "text": "fire at the market " + XSS,
                "received_at": now - 599}), now),
        (opened("kit-a", 3, 2, "+254711000333", 3, now - 500, category="water", lat=3.1300, lon=35.6100), now),
        (opened("kit-b", 1, 7, SHARED_SENDER, 1, now - 300, category="flood", location="Kakuma",
                lat=3.7167, lon=34.8667), now),
        (opened("kit-b", 2, 8, "+254711000444", 2, now - 200, category="medical"), now),
        (Event("kit-b", 3, "health", "health", now - 100, 4,
               {"status": "degraded", "modem": "registered", "signal_dbm": -91, "battery_pct": 18,
                "queued_replies": 2, "attention": [{"code": "battery-low", "severity": "warning",
                                                    "problem": "battery under 20%"}],
                "uplink": {"queued": 3}}), now),
        (opened("kit-c", 1, 3, "+254711000555", 3, old, category="food"), old),
    ]


def fill_fleet(database, now: float) -> None:
    for event, received_at in fleet_events(now):
        database.ingest(event, received_at)


def cell_config_text(broker, directory: Path, extra: str = "", signing_key: Path | None = None) -> str:
    """A config file's text for `evy hq run` or `evy hq console` talking to a LocalBroker as the cell."""
    settings = broker.settings("evy-hq")
    key = f'signing_key = "{signing_key}"\n' if signing_key else ""
    return (f'data_dir = "{directory}"\nlog_level = "info"\n[downlink]\n{key}[fleet]\n'
            f'broker_host = "{settings["fleet__broker_host"]}"\nbroker_port = {settings["fleet__broker_port"]}\n'
            f'ca_file = "{settings["fleet__ca_file"]}"\ncredentials_file = "{settings["fleet__credentials_file"]}"\n'
            f'keepalive = 5\n[hq]\ndatabase = "{directory / "hq.sqlite"}"\nstale_after = 3600\n{extra}')


# The cell and two kits on a real Mosquitto (the ingest and outbox tests).
BROKER_LOGINS = {"evy-hq": "pw-hq", "kit-a": "pw-a", "kit-b": "pw-b"}


@pytest.fixture()
def broker(tmp_path):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (invoke setup)")
    with LocalBroker(tmp_path / "broker", logins=BROKER_LOGINS) as running:
        yield running


def publish_raw(broker: LocalBroker, kit: str, messages: list[tuple[str, bytes]],
                client_id: str | None = None) -> None:
    """Publish (topic, payload) pairs as the kit at QoS 1 and wait for every PUBACK."""
    config = parse("").replace(**broker.settings(kit))
    client = make_client(config, client_id or f"{kit}-raw")
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    connect_async(client, config)
    client.loop_start()
    try:
        assert connected.wait(10), f"{kit} did not connect"
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(10)
            assert info.rc == mqtt.MQTT_ERR_SUCCESS
    finally:
        client.disconnect()
        client.loop_stop()
