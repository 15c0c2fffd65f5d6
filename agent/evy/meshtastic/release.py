"""Tell the kit's node that its client is gone, after the agent died without saying so.

Over USB serial the firmware cannot see its client die: until it has heard nothing for 15 minutes it keeps
handing every packet it receives to the serial line, where nobody reads it (docs/meshtastic.md). The
library's ``close()`` sends ``ToRadio.disconnect``, but a SIGKILLed, OOM-killed or watchdog-killed agent
never gets there. ``evy meshtastic release`` (systemd runs it as ``ExecStopPost``, after every end of the
agent) sends that one frame, so the node keeps what arrives in its queue until the agent is back. Over TCP
meshtasticd sees the socket close by itself, so there is nothing to do.
"""

from __future__ import annotations

import termios

from evy.config import Config
from evy.meshtastic.stream import HEADER_LEN, MAX_FRAME, frame

# A client killed mid-write may leave the node's parser inside a frame: bytes that are never a frame start
# (0xC3, as the library's wake-up) fill any partial frame, which the node then drops as malformed.
RESYNC = bytes([0xC3]) * (HEADER_LEN + MAX_FRAME)


def disconnect_frames() -> bytes:
    from meshtastic.protobuf import mesh_pb2

    return RESYNC + frame(mesh_pb2.ToRadio(disconnect=True).SerializeToString())


def release_node(config: Config) -> str:
    """What was done, one line; an absent or busy node is not an error (there is nothing to release)."""
    if not config["meshtastic.enabled"]:
        return "Meshtastic is off: nothing to release"
    if config["meshtastic.connection"] == "tcp":
        return "meshtasticd sees a closed connection by itself: nothing to release"
    import serial

    port = config["meshtastic.port"]
    try:
        with open(port, "rb", buffering=0) as device:  # keep DTR as the library does, so no board resets
            attrs = termios.tcgetattr(device)
            attrs[2] &= ~termios.HUPCL
            termios.tcsetattr(device, termios.TCSANOW, attrs)
        with serial.Serial(port, 115200, exclusive=True, write_timeout=2) as line:
            line.write(disconnect_frames())
            line.flush()
    except (OSError, termios.error, serial.SerialException) as exc:
        return f"node on {port} not reachable ({exc}): nothing to release"
    return f"told the node on {port} that its client is gone: it keeps what arrives until the agent is back"
