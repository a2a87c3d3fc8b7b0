"""Tell Japanese from English by the script of the author's own words."""

from __future__ import annotations

import re

from triagebot.core.models import Language

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
SAMPLE = 4000


def detect_language(text: str) -> Language:
    """Japanese when kana appear and Japanese script is a real share of the letters; else English.

    Kana are the deciding signal (a signature in kanji alone, or a Chinese log line, stays English);
    Latin product names and log lines inside Japanese prose do not outvote it.
    """
    sample = text[:SAMPLE]
    kana = len(_KANA.findall(sample))
    if kana < 2:
        return Language.EN
    japanese = kana + len(_KANJI.findall(sample))
    latin = len(_LATIN.findall(sample))
    return Language.JA if japanese >= 0.12 * (japanese + latin) or japanese >= 40 else Language.EN
