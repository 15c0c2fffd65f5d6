"""SMS compression: GSM-7 transliteration, filler and abbreviation rules, sentence-priority packing."""

from evy.compress.core import Compressed, as_sent, compress
from evy.compress.translit import needs_ucs2, to_gsm7

__all__ = ["Compressed", "as_sent", "compress", "needs_ucs2", "to_gsm7"]
