"""Compression on a corpus of long model-style answers: SMS segments against sending them as they are.

The corpus ships with the tests (tests/compress/data/long_answers.toml). Figures: segments naive vs
compressed (3-SMS budget, and with no sentence dropped), how many answers keep every numbered step and
every number, UCS-2 rate before and after, and time per answer.
"""

from __future__ import annotations

import re
import statistics
import time
import tomllib
from collections import Counter
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "tests" / "compress" / "data" / "long_answers.toml"
_STEP = re.compile(r"^(\d{1,2})\. ", re.MULTILINE)
_NUMBER = re.compile(r"\d+")


def run(quick: bool) -> dict:
    from evy.compress import compress, to_gsm7
    from evy.sms.message import Encoding
    from evy.sms.segments import count

    if not CORPUS.is_file():
        return {"error": f"corpus not found at {CORPUS} (run from a source checkout)"}
    answers = tomllib.loads(CORPUS.read_text("utf-8"))["answer"]
    naive = [count(a["text"]) for a in answers]
    packed, lossless, times = [], [], []
    steps_kept = numbers_kept = 0
    for answer in answers:
        begin = time.perf_counter()
        result = compress(answer["text"], max_segments=3, language=answer["language"])
        times.append((time.perf_counter() - begin) * 1000)
        packed.append(result)
        lossless.append(compress(answer["text"], max_segments=10, language=answer["language"]))
        steps_kept += _STEP.findall(result.text) == _STEP.findall(answer["text"])
        missing = Counter(_NUMBER.findall(to_gsm7(answer["text"]))) - Counter(_NUMBER.findall(result.text))
        numbers_kept += not missing
    if not quick:
        for _ in range(4):
            for answer in answers:
                begin = time.perf_counter()
                compress(answer["text"], max_segments=3, language=answer["language"])
                times.append((time.perf_counter() - begin) * 1000)
    plain = [i for i, (encoding, _) in enumerate(naive) if encoding is Encoding.GSM7]
    plain_naive = sum(naive[i][1] for i in plain)
    plain_packed = sum(packed[i].segments for i in plain)
    naive_segments = sum(parts for _, parts in naive)
    packed_segments = sum(r.segments for r in packed)
    lossless_segments = sum(r.segments for r in lossless)
    return {
        "answers": len(answers),
        "naive_segments": naive_segments,
        "compressed_segments": packed_segments,
        "segments_saved_pct": round(100 * (1 - packed_segments / naive_segments), 1),
        "target_saved_pct": 45,
        "lossless_segments": lossless_segments,
        "lossless_saved_pct": round(100 * (1 - lossless_segments / naive_segments), 1),
        "answers_all_steps_kept": steps_kept,
        "answers_all_numbers_kept": numbers_kept,
        "sentences_dropped": sum(r.dropped for r in packed),
        "chars_saved": sum(r.chars_saved for r in packed),
        "gsm7_answers": len(plain),
        "gsm7_answers_saved_pct": round(100 * (1 - plain_packed / plain_naive), 1) if plain_naive else None,
        "naive_ucs2_rate": round(sum(enc is Encoding.UCS2 for enc, _ in naive) / len(answers), 3),
        "compressed_ucs2_rate": round(sum(r.encoding is Encoding.UCS2 for r in packed) / len(answers), 3),
        "compress_ms_median": round(statistics.median(times), 2),
    }
