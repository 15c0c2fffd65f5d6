"""SMS compression: GSM-7 transliteration, filler and abbreviation rules, sentence-priority packing."""

from evy.compress.core import Compressed, compress
from evy.compress.translit import needs_ucs2, to_gsm7

__all__ = ["Compressed", "compress", "needs_ucs2", "to_gsm7"]
