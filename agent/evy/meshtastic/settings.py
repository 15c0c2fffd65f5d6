"""Settings of the Meshtastic gateway ([meshtastic]): which node, how the kit listens and who may command it."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from evy.config.schema import BadValue, Setting, boolean, choice, integer, number, phone_number, string, string_list


def public_keys(value: Any) -> tuple[str, ...]:
    """Base64 x25519 public keys (32 bytes each), as the Meshtastic apps show them."""
    keys = string_list(value)
    for key in keys:
        try:
            raw = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise BadValue(f"expected base64 public keys, got {key!r}") from None
        if len(raw) != 32:
            raise BadValue(f"a Meshtastic public key is 32 bytes, {key!r} is {len(raw)}")
    return keys


public_keys.__doc__ = "list of base64 x25519 public keys"


def phone_numbers(value: Any) -> tuple[str, ...]:
    return tuple(phone_number(number) for number in string_list(value))


phone_numbers.__doc__ = "list of phone numbers"

SETTINGS = [
    Setting("meshtastic.enabled", boolean, False,
            "Answer direct messages sent to an attached Meshtastic node (USB serial or meshtasticd over TCP), "
            "through the same store, guards and responder as SMS. The agent runs without the node and "
            "reconnects when it comes back."),
    Setting("meshtastic.connection", choice("serial", "tcp"), "serial",
            "How the node is attached: 'serial' (a USB radio, meshtastic.port) or 'tcp' (meshtasticd on the "
            "kit driving a LoRa HAT, meshtastic.host)."),
    Setting("meshtastic.port", string, "/dev/ttyACM0",
            "Serial device of the node (a udev symlink such as /dev/meshtastic survives re-plugging).",
            example="/dev/meshtastic"),
    Setting("meshtastic.host", string, "localhost", "Host of meshtasticd when meshtastic.connection = 'tcp'."),
    Setting("meshtastic.tcp_port", integer(1, 65535), 4403, "TCP port of meshtasticd's stream API."),
    Setting("meshtastic.channel", integer(0, 7), 0,
            "Channel index the kit listens to for channel messages and sends broadcasts on. Channel "
            "messages are answered by direct message, never obeyed as commands."),
    Setting("meshtastic.answer_channel", boolean, True,
            "Answer text sent to everyone on meshtastic.channel (by direct message to its sender). Off: "
            "only direct messages are answered."),
    Setting("meshtastic.operator_keys", public_keys, [],
            "Public keys of operators' nodes. Only a PKI-encrypted direct message from one of these may use "
            "operator commands (BROADCAST <text>).", example=["base64-public-key-of-an-operator-node="]),
    Setting("meshtastic.max_text_bytes", integer(60, 228), 200,
            "Most UTF-8 bytes of text in one direct message (Meshtastic's payload is 233 bytes; PKI takes "
            "some). A longer reply is split at word boundaries and numbered like SMS parts."),
    Setting("meshtastic.ack_timeout", number(5, 3600), 90.0,
            "Seconds to wait for the recipient's acknowledgement of a part before sending it again (with "
            "the same packet id, so a receiver that had it shows it once)."),
    Setting("meshtastic.node_queue", integer(1, 10000), 32,
            "Packets the kit's node keeps for the agent while it is not reading (the firmware's MAX_RX_TOPHONE: "
            "32 on nRF52 and ESP32-S3 boards without PSRAM, 8 on the original ESP32, 100 on ESP32-S3 with "
            "PSRAM; meshtasticd's General.MaxMessageQueue, 100 by default). A backlog this long is logged and "
            "counted as a possible loss."),
    Setting("meshtastic.reconnect_max", number(1, 3600), 60.0,
            "Longest wait between attempts to reach an absent node (the wait doubles from 1 s)."),
    Setting("meshtastic.sms_relay", boolean, False,
            "Let a Meshtastic user without cell service have the kit send an SMS: a PKI direct message "
            "'SMS +2547... text'. The SMS names the sender's node; replies from that number within "
            "meshtastic.sms_relay_reply_hours go back to the node."),
    Setting("meshtastic.sms_relay_numbers", phone_numbers, [],
            "Numbers the relay may text (international format, as senders appear); empty: any number, "
            "within the daily cap.", example=["+254711000111"]),
    Setting("meshtastic.sms_relay_daily", integer(0, 100), 3,
            "SMS one node may have the kit send per 24 hours (0: none)."),
    Setting("meshtastic.sms_relay_reply_hours", number(0, 720), 24.0,
            "Hours after a relayed SMS during which an SMS from that number goes to the node instead of "
            "being answered by the kit."),
]
