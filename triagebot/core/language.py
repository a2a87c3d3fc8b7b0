"""Tell Japanese from English: the one place that knows which characters are Japanese.

`detect_language` decides the language of a whole text; `has_japanese` and `count_japanese` answer
the smaller questions other stages ask ("is this line prose in Japanese", "how much Japanese is
there"), so every stage agrees on what counts as Japanese.
"""

from __future__ import annotations

import re

from triagebot.core.models import Language

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")
_JAPANESE = re.compile(r"[\u3040-\u30ff\uff66-\uff9f\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
SAMPLE = 4000


def has_japanese(text: str) -> bool:
    """True when `text` holds at least one kana or kanji."""
    return not text.isascii() and _JAPANESE.search(text) is not None


def count_japanese(text: str) -> int:
    """The number of kana and kanji in `text`."""
    return 0 if text.isascii() else len(_JAPANESE.findall(text))


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
