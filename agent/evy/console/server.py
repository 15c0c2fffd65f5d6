"""Serve the console with uvicorn on the configured addresses only (never a wildcard).

Sockets are bound here with IP_FREEBIND, so the console starts even before the access point's address is up
at boot, and uvicorn serves them all from one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from pathlib import Path

from evy.config import Config
from evy.console.auth import ConsoleError

log = logging.getLogger("evy.console")
IP_FREEBIND = 15  # Linux: bind to an address that is not (yet) configured


def bind(addresses: tuple[str, ...], port: int) -> list[socket.socket]:
    sockets = []
    try:
        for address in addresses:
            family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            with contextlib.suppress(OSError):  # not Linux: the address must already be up
                sock.setsockopt(socket.IPPROTO_IP if family == socket.AF_INET else socket.IPPROTO_IPV6,
                                IP_FREEBIND, 1)
            try:
                sock.bind((address, port))
            except OSError as exc:
                sock.close()
                raise ConsoleError(f"cannot listen on {address} port {port}: {exc.strerror}") from None
            sock.listen(64)
            sock.set_inheritable(True)
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def serve(config: Config, database: Path, *, addresses: tuple[str, ...] | None = None, port: int | None = None,
          kit_name: str = "EVY kit") -> int:
    import uvicorn

    from evy.console.app import create_app
    from evy.console.web import Console

    console = Console(config, database, kit_name)  # refuses to start without an operator password
    addresses = addresses or config["console.listen"]
    port = config["console.port"] if port is None else port
    sockets = bind(addresses, port)
    server = uvicorn.Server(uvicorn.Config(create_app(console), log_level="warning", access_log=False,
                                           server_header=False, proxy_headers=False, lifespan="off"))
    for sock in sockets:
        host, bound_port = sock.getsockname()[:2]
        log.warning("console on http://%s:%d/", f"[{host}]" if ":" in host else host, bound_port)
    try:
        asyncio.run(server.serve(sockets=sockets))
    finally:
        console.store.close()
        for sock in sockets:
            sock.close()
    return 0
