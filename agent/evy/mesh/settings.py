"""Settings of the LoRa mesh: the key, the radio and its wiring, the region's rules, routing."""

from __future__ import annotations

from typing import Any

from evy import backends
from evy.config.schema import BadValue, Setting, boolean, choice, integer, number, optional_path, string, string_list
from evy.mesh.dutycycle import REGIONS
from evy.mesh.radio.pinmaps import PIN_MAPS


def node_id(value: Any) -> int | None:
    """8 hex digits, last byte not 00, not ffffffff (optional: a random id is kept in the state file)."""
    if value in (None, ""):
        return None
    text = string(value).lower().removeprefix("0x")
    try:
        number_ = int(text, 16)
    except ValueError:
        raise BadValue(f"expected up to 8 hex digits such as \"e5000001\", got {value!r}") from None
    if not 0 < number_ < 0xFFFFFFFF or number_ & 0xFF == 0:
        raise BadValue("node id must be 1..fffffffe and must not end in 00")
    return number_


def optional_gpio(value: Any) -> int | None:
    return None if value in (None, "") else integer(0, 53)(value)


node_id.__doc__ = "8 hex digits (optional)"
optional_gpio.__doc__ = "BCM GPIO number (optional)"

SETTINGS = [
    Setting("mesh.enabled", boolean, False, "Join the LoRa mesh between kits."),
    Setting("mesh.key_file", optional_path, None,
            "Network key file (32 hex digits; `evy mesh keygen FILE`). Required: there is no default key.",
            example="/etc/evy/mesh.key"),
    Setting("mesh.node_id", node_id, None, "This kit's node id; a random one is kept in the state when unset."),
    Setting("mesh.state_dir", optional_path, None,
            "Where replay windows, duplicate cache and the airtime ledger persist; data_dir/mesh when unset."),
    Setting("mesh.radio", choice(*backends.names("radio")), "sx1276",
            "`sx1276` drives the LoRa chip over SPI; `udp` is its network twin for tests and labs."),
    Setting("mesh.region", choice(*REGIONS), "EU868", "Regulatory region: duty-cycle and dwell-time rules."),
    Setting("mesh.frequency", number(137, 1020), 869.525, "Centre frequency in MHz (869.525: EU g2, 10%)."),
    Setting("mesh.spreading_factor", integer(7, 12), 9, "LoRa spreading factor; higher reaches further, slower."),
    Setting("mesh.bandwidth_khz", choice("62.5", "125", "250", "500"), "125", "LoRa bandwidth in kHz."),
    Setting("mesh.coding_rate", integer(5, 8), 5, "Coding rate denominator: 5 = 4/5 … 8 = 4/8."),
    Setting("mesh.preamble", integer(6, 65535), 16, "Preamble length in symbols."),
    Setting("mesh.sync_word", integer(0, 255), 0x12, "LoRa sync word (0x12 private networks; not LoRaWAN 0x34)."),
    Setting("mesh.tx_power_dbm", integer(2, 20), 14, "Transmit power in dBm (PA_BOOST); mind the band's limit."),
    Setting("mesh.hop_limit", integer(1, 7), 3, "Relays a frame may take (3 reaches 4 radio hops)."),
    Setting("mesh.retries", integer(0, 7), 3, "End-to-end retransmissions by the sender; the last one floods."),
    Setting("mesh.route_ttl", number(60, 86400), 1800.0, "Seconds a learned next hop stays valid."),
    Setting("mesh.beacon_interval", number(0, 86400), 900.0, "Seconds between status beacons; 0 turns them off."),
    Setting("mesh.hat", choice(*PIN_MAPS), "adafruit-rfm9x", "SX1276 board wiring (see docs/mesh.md)."),
    Setting("mesh.gpio_chip", string, "/dev/gpiochip0", "GPIO character device for reset and DIO lines."),
    Setting("mesh.pin_reset", optional_gpio, None, "Overrides the board's reset GPIO."),
    Setting("mesh.pin_dio0", optional_gpio, None, "Overrides the board's DIO0 GPIO."),
    Setting("mesh.udp_bind", string, "0.0.0.0:47700", "`udp` radio: local address and port."),
    Setting("mesh.udp_peers", string_list, [],
            "`udp` radio: peer addresses (host:port); empty sends to the broadcast address of udp_bind's port."),
]
