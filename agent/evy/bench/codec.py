"""SMS codec speed: median microseconds to encode and decode typical PDUs (libGammu's C code as baseline)."""

from __future__ import annotations

from datetime import UTC, datetime

from evy.bench import median_us
from evy.sms import gsm7, pdu, segments
from evy.sms.message import Deliver

RECIPIENT = "+254712345678"
TEXTS = {
    "gsm7_160": ("Flood warning: move to higher ground now. Take water, ID and medicine. Avoid walking "
                 "in moving water. Call 112 if trapped. Reply HELP for shelters near you. EVY.")[:160],
    "ucs2_70": "Наводнение: поднимитесь выше. Возьмите воду и лекарства. Звоните 112😀",  # 70 UTF-16 units
    "gsm7_3_parts": "Shelter list: " + "Kibera school hall, Mathare clinic, Kawangware church; " * 8,
}


def run(quick: bool) -> dict:
    repeats, inner = (5, 20) if quick else (21, 200)
    figures: dict[str, object] = {"repeats": repeats, "inner": inner}
    moment = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    for name, text in TEXTS.items():
        parts = pdu.encode_submit(RECIPIENT, text)
        encoding = parts[0].message.encoding
        inbound = pdu.encode_deliver(Deliver(sender=RECIPIENT, text=parts[0].message.text, encoding=encoding,
                                             timestamp=moment, concat=parts[0].message.concat))
        figures[name] = {
            "encoding": str(encoding),
            "segments": len(parts),
            "encode_submit_us": median_us(lambda text=text: pdu.encode_submit(RECIPIENT, text), repeats, inner),
            "decode_deliver_us": median_us(lambda inbound=inbound: pdu.decode(inbound), repeats, inner),
            "count_us": median_us(lambda text=text: segments.count(text), repeats, inner),
        }
        baseline = _gammu_decode_us(inbound, repeats, inner)
        if baseline is not None:
            figures[name]["gammu_decode_deliver_us"] = baseline
    septets = gsm7.encode(TEXTS["gsm7_160"])
    packed = gsm7.pack(septets)
    figures["gsm7_pack_160_us"] = median_us(lambda: gsm7.pack(septets), repeats, inner)
    figures["gsm7_unpack_160_us"] = median_us(lambda: gsm7.unpack(packed, len(septets)), repeats, inner)
    return figures


def _gammu_decode_us(hex_text: str, repeats: int, inner: int) -> float | None:
    try:
        import gammu
    except ImportError:
        return None
    raw = bytes.fromhex(hex_text)
    return median_us(lambda: gammu.DecodePDU(raw, SMSC=True), repeats, inner)
