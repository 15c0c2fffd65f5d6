"""National language shift tables (3GPP TS 23.038 Annex A) that phones in Turkey, Spain and Portugal use
to send their letters in GSM-7 instead of UCS-2, announced by UDH IEs 0x24 (locking) and 0x25 (single).

EVY reads them; it never writes them (its replies use the default alphabet or UCS-2). Languages without a
table here (the Indian ones) fall back to the default tables, where an unknown escape reads as the basic
letter: degraded, but never an error.
"""

from __future__ import annotations

TURKISH, SPANISH, PORTUGUESE = 1, 2, 3

# Locking shift tables replace the basic table; index = septet, 0x1B stays the escape.
LOCKING_TABLES = {
    TURKISH: (
        "@£$¥€éùıòÇ\nĞğ\rÅå"
        "Δ_ΦΓΛΩΠΨΣΘΞ\x1bŞşßÉ"
        " !\"#¤%&'()*+,-./"
        "0123456789:;<=>?"
        "İABCDEFGHIJKLMNO"
        "PQRSTUVWXYZÄÖÑÜ§"
        "çabcdefghijklmno"
        "pqrstuvwxyzäöñüà"
    ),
    PORTUGUESE: (
        "@£$¥êéúíóç\nÔô\rÁá"
        "Δ_ªÇÀ∞^\\€Ó|\x1bÂâÊÉ"
        " !\"#º%&'()*+,-./"
        "0123456789:;<=>?"
        "ÍABCDEFGHIJKLMNO"
        "PQRSTUVWXYZÃÕÚÜ§"
        "~abcdefghijklmno"
        "pqrstuvwxyzãõ`üà"
    ),
}

_COMMON_SHIFT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
                 0x40: "|", 0x65: "€"}

# Single shift tables replace the extension table: the septet after an escape.
SINGLE_SHIFT_TABLES = {
    TURKISH: _COMMON_SHIFT | {0x47: "Ğ", 0x49: "İ", 0x53: "Ş", 0x63: "ç", 0x67: "ğ", 0x69: "ı", 0x73: "ş"},
    SPANISH: _COMMON_SHIFT | {0x09: "ç", 0x41: "Á", 0x49: "Í", 0x4F: "Ó", 0x55: "Ú", 0x61: "á", 0x69: "í",
                              0x6F: "ó", 0x75: "ú"},
    PORTUGUESE: _COMMON_SHIFT | {
        0x05: "ê", 0x09: "ç", 0x0B: "Ô", 0x0C: "ô", 0x0E: "Á", 0x0F: "á", 0x12: "Φ", 0x13: "Γ", 0x15: "Ω",
        0x16: "Π", 0x17: "Ψ", 0x18: "Σ", 0x19: "Θ", 0x1F: "Ê", 0x41: "À", 0x49: "Í", 0x4F: "Ó", 0x55: "Ú",
        0x5B: "Ã", 0x5C: "Õ", 0x61: "Â", 0x69: "í", 0x6F: "ó", 0x75: "ú", 0x7B: "ã", 0x7C: "õ", 0x7F: "â"},
}

assert all(len(table) == 128 and table[0x1B] == "\x1b" for table in LOCKING_TABLES.values())
