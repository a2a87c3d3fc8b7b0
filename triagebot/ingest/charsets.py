"""Turn mail bytes into text whatever the charset label claims; Japanese mail is the hard case.

The traps handled here were all seen in real archives:

* Windows mailers put NEC and IBM extension characters (①, ㈱, Ⅲ) inside "ISO-2022-JP". No Python
  codec decodes them (not iso2022_jp, _ext, _2004 or _3), so ISO-2022-JP is decoded here by turning
  each JIS X 0208 pair into its Shift_JIS bytes and reading those as CP932, which has the extensions.
* ``shift_jis``/``sjis``/``x-sjis`` labels really mean CP932; ``euc-jp`` is read as euc_jis_2004 (a
  superset) and then as euc_jp.
* Labels lie (a ``utf-8`` label on CP932 bytes, ``us-ascii`` on ISO-2022-JP) or name no codec at all
  (``x-unknown-charset``). Then the bytes are guessed: ISO-2022-JP escapes, UTF-8, EUC-JP and CP932
  (the better-looking Japanese reading wins), Western single-byte text, and last a lossy reading.

charset_normalizer was tried for the guess and not kept: on short Japanese text it picks
big5hkscs for two CP932 kanji and utf_16_be for CP932 with one damaged byte, which the rules here
get right.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

ISO2022JP = "iso-2022-jp"

# Labels that mean something other than what Python's codec of the same name does.
_ALIASES: dict[str, str] = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "s-jis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "ms932": "cp932",
    "cp932": "cp932",
    "x-ms-cp932": "cp932",
    "euc-jp": "euc_jis_2004",
    "euc_jp": "euc_jis_2004",
    "eucjp": "euc_jis_2004",
    "x-euc-jp": "euc_jis_2004",
    "x-euc": "euc_jis_2004",
    "cseucpkdfmtjapanese": "euc_jis_2004",
    "iso-2022-jp": ISO2022JP,
    "iso2022jp": ISO2022JP,
    "iso-2022-jp-1": ISO2022JP,
    "iso-2022-jp-2": ISO2022JP,
    "iso-2022-jp-3": ISO2022JP,
    "iso-2022-jp-2004": ISO2022JP,
    "iso-2022-jp-ext": ISO2022JP,
    "csiso2022jp": ISO2022JP,
    "jis": ISO2022JP,
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",
    "utf8": "utf-8",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso8859-1": "cp1252",
}

# Labels that carry no information about the bytes.
_MEANINGLESS = {"", "unknown-8bit", "x-unknown", "x-user-defined", "default", "unknown", "8bit", "binary"}

# Single-byte Western codecs decode any bytes, so a lying Western label must not win by default.
_WESTERN = {"cp1252", "iso8859-1", "iso8859-15", "ascii"}

_JIS_ESCAPE = re.compile(rb"\x1b(?:\$[@B]|\$\([DOPQ]|\([BJIH]|&@)")
_ADJACENT_HIGH = re.compile(rb"[\x80-\xff]{2}")


def codec_for_label(label: str | None) -> str | None:
    """Return the codec to use for a charset label, `ISO2022JP` for our own decoder, None if unusable."""
    if label is None:
        return None
    name = label.strip().strip("\"'").strip().lower()
    if name in _MEANINGLESS:
        return None
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        found = codecs.lookup(name).name
    except LookupError:
        return None
    if found.startswith("iso2022_jp"):
        return ISO2022JP
    return _ALIASES.get(found, found)


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Decode `data`, trusting `label` only while it decodes cleanly; never raises."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    codec = codec_for_label(label)
    if data.isascii() and _JIS_ESCAPE.search(data) and codec in (None, ISO2022JP, "utf-8", *_WESTERN):
        return decode_iso2022jp(data)
    if codec == ISO2022JP:
        # Some mailers put raw 8-bit CP932 bytes in "ISO-2022-JP" parts; the JIS walker passes them on.
        return decode_iso2022jp(data) if _JIS_ESCAPE.search(data) else guess_decode(data)
    if codec is not None and codec not in _WESTERN:
        text = _strict(data, codec)
        if text is None and codec == "euc_jis_2004":
            text = _strict(data, "euc_jp")
        if text is not None:
            return text
        return guess_decode(data)
    if codec in _WESTERN:
        # A Western label is often stuck on UTF-8 or Japanese bytes; both are far more telling.
        if data.isascii():
            return data.decode("ascii")
        text = _strict(data, "utf-8") or _japanese_reading(data)
        if text is not None:
            return text
        return _strict(data, codec) or data.decode("latin-1")
    return guess_decode(data)


def guess_decode(data: bytes) -> str:
    """Decode bytes with no usable label: ISO-2022-JP, UTF-8, Japanese 8-bit, Western, then lossy."""
    return decode_unlabelled(data).text


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text decoded without a label, the codec that was chosen, and whether bytes had to be replaced."""

    text: str
    charset: str
    replaced: bool = False


def decode_unlabelled(data: bytes) -> Decoded:
    """Decode bytes that come with no charset label (a pasted file, stdin), saying how they were read.

    The same guesses as for unlabelled mail: a UTF-8 byte-order mark, ISO-2022-JP escapes, UTF-8,
    EUC-JP or CP932 (whichever looks more like Japanese), Western single-byte text, then a lossy
    reading with the fewest replaced bytes.
    """
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
        return Decoded(body, "utf-8", "\ufffd" in body)
    if data.isascii():
        if _JIS_ESCAPE.search(data):
            return Decoded(decode_iso2022jp(data), ISO2022JP)
        return Decoded(data.decode("ascii"), "utf-8")
    text: str | None = _strict(data, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8")
    text = _mostly_utf8(data)
    if text is not None:
        return Decoded(text, "utf-8", True)
    if not _ADJACENT_HIGH.search(data):
        # Every 8-bit byte stands alone: no multibyte charset writes that, a Western one does.
        text = _strict(data, "cp1252")
        return Decoded(text, "cp1252") if text is not None else Decoded(data.decode("latin-1"), "latin-1")
    found = _japanese_reading_named(data)
    if found is not None:
        return Decoded(found[1], found[0])
    lossy = [(codec, data.decode(codec, errors="replace")) for codec in ("utf-8", "cp932", "euc_jis_2004")]
    codec, text = min(lossy, key=lambda pair: (pair[1].count("\ufffd"), -japanese_score(pair[1])))
    return Decoded(text, codec, True)


def _mostly_utf8(data: bytes) -> str | None:
    """Read UTF-8 with a few damaged bytes as UTF-8: other charsets almost never form valid sequences."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return text if good >= 4 * bad and good > 0 else None


def japanese_score(text: str) -> int:
    """Score how much `text` looks like real Japanese; mis-decoded bytes score low or negative."""
    score = 0
    for ch in text:
        cp = ord(ch)
        if cp < 0x80:
            continue
        if 0x3040 <= cp <= 0x30FF:
            score += 2  # hiragana and katakana
        elif 0x4E00 <= cp <= 0x9FFF or 0x3000 <= cp <= 0x303F or 0xFF01 <= cp <= 0xFF5E:
            score += 1  # common kanji, Japanese punctuation, full-width forms
        elif 0xFF61 <= cp <= 0xFF9F:
            score -= 3  # half-width katakana: what EUC-JP bytes look like when read as CP932
        elif 0xE000 <= cp <= 0xF8FF or cp == 0xFFFD or 0x80 <= cp <= 0x9F:
            score -= 5  # private use, replacement characters, C1 controls
    return score


def _japanese_reading(data: bytes) -> str | None:
    """Return the better of the EUC-JP and CP932 readings that decode cleanly and look Japanese."""
    found = _japanese_reading_named(data)
    return found[1] if found is not None else None


def _japanese_reading_named(data: bytes) -> tuple[str, str] | None:
    """(codec, text) of the better clean Japanese reading, or None if neither looks Japanese."""
    decoded = ((codec, _strict(data, codec)) for codec in ("euc_jis_2004", "cp932"))
    readings = [(codec, text) for codec, text in decoded if text is not None]
    if not readings:
        return None
    best = max(readings, key=lambda pair: japanese_score(pair[1]))
    return best if japanese_score(best[1]) > 0 else None


def _strict(data: bytes, codec: str) -> str | None:
    """Decode strictly, returning None instead of raising."""
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_iso2022jp(data: bytes) -> str:
    """Decode ISO-2022-JP, including the CP932 extension characters that Windows mailers put in it."""
    text = _strict(data, "iso2022_jp")
    if text is not None:
        return text
    return _decode_jis_via_cp932(data)


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    """Map one JIS X 0208 row/cell pair (0x21..0x7E each) to its Shift_JIS bytes."""
    s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 & 1:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:
            s2 += 1
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


def _decode_jis_via_cp932(data: bytes) -> str:
    """Walk the escape sequences ourselves and decode each run with the codec that has its characters."""
    pieces: list[tuple[str, bytearray]] = []

    def put(codec: str, chunk: bytes) -> None:
        if pieces and pieces[-1][0] == codec:
            pieces[-1][1].extend(chunk)
        else:
            pieces.append((codec, bytearray(chunk)))

    mode = "ascii"
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == 0x1B:
            m = _JIS_ESCAPE.match(data, i)
            if m is not None:
                seq = m.group()
                if seq in (b"\x1b$@", b"\x1b$B", b"\x1b&@"):
                    mode = "jis0208"
                elif seq == b"\x1b$(D":
                    mode = "jis0212"
                elif seq in (b"\x1b$(O", b"\x1b$(Q"):
                    mode = "jis0213-1"
                elif seq == b"\x1b$(P":
                    mode = "jis0213-2"
                elif seq == b"\x1b(I":
                    mode = "kana"
                else:
                    mode = "ascii"
                i = m.end()
                continue
        if b == 0x0E:  # shift out: half-width katakana
            mode, i = "kana", i + 1
            continue
        if b == 0x0F:  # shift in: back to ASCII
            mode, i = "ascii", i + 1
            continue
        if b in (0x0A, 0x0D) or mode == "ascii" or b >= 0x80:
            put("cp932", bytes((b,)))
            i += 1
            continue
        if mode == "kana":
            put("cp932", bytes((b | 0x80,)) if 0x21 <= b <= 0x5F else bytes((b,)))
            i += 1
            continue
        if i + 1 >= n or not (0x21 <= b <= 0x7E and 0x21 <= data[i + 1] <= 0x7E):
            put("cp932", b"?")
            i += 1
            continue
        j1, j2 = b, data[i + 1]
        if mode == "jis0208":
            put("cp932", _jis_to_sjis(j1, j2))
        elif mode == "jis0212":
            put("euc_jp", bytes((0x8F, j1 | 0x80, j2 | 0x80)))
        elif mode == "jis0213-1":
            put("euc_jis_2004", bytes((j1 | 0x80, j2 | 0x80)))
        else:
            put("euc_jis_2004", bytes((0x8F, j1 | 0x80, j2 | 0x80)))
        i += 2
    return "".join(bytes(chunk).decode(codec, errors="replace") for codec, chunk in pieces)
