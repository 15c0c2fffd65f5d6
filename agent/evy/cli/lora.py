"""`evy lora airtime`: LoRa radio calculations from the shell, offline; the modulation options other
commands share (`evy mesh sim`)."""

from __future__ import annotations

import argparse
from typing import Any

from evy.cli import print_json


def register(sub: argparse._SubParsersAction) -> None:
    lora = sub.add_parser("lora", help="LoRa radio calculations")
    lora_actions = lora.add_subparsers(dest="action", metavar="ACTION", required=True)
    airtime = lora_actions.add_parser("airtime", help="exact time on air of one frame (Semtech AN1200.13)")
    modulation_args(airtime, required=True)
    airtime.add_argument("--payload", type=int, required=True, metavar="BYTES", help="payload length 0..255")
    airtime.add_argument("--implicit-header", action="store_true", help="implicit header mode")
    airtime.add_argument("--no-crc", action="store_true", help="payload CRC off")
    airtime.add_argument("--ldro", choices=("auto", "on", "off"), default="auto",
                         help="low-data-rate optimisation (auto: on when a symbol lasts ≥ 16 ms)")
    airtime.set_defaults(func=lora_airtime)


def modulation_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--sf", type=int, required=required, default=None if required else 9,
                        help="spreading factor 6..12")
    parser.add_argument("--bw", type=float, required=required, default=None if required else 125,
                        metavar="KHZ", help="bandwidth in kHz (125, 250, 500, …)")
    parser.add_argument("--cr", type=int, required=required, default=None if required else 5,
                        help="coding rate denominator 5..8 (4/5..4/8)")
    parser.add_argument("--preamble", type=int, default=8 if required else 16, help="preamble symbols")


def modulation_from(args: argparse.Namespace, **extra: Any):
    from evy.mesh.airtime import Modulation, bandwidth_from_khz

    return Modulation(args.sf, bandwidth_from_khz(args.bw), args.cr, args.preamble, **extra)


def lora_airtime(args: argparse.Namespace) -> int:
    ldro = {"auto": None, "on": True, "off": False}[args.ldro]
    modulation = modulation_from(args, explicit_header=not args.implicit_header, crc=not args.no_crc,
                                 low_data_rate=ldro)
    print_json({"seconds": round(modulation.time_on_air(args.payload), 6)})
    return 0
