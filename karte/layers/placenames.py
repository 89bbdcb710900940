"""Japanese place names made comparable: the keys the place search (:mod:`.search`) matches on.

Pure (no Django, no database): strings in, strings out, so it is tested without a database and
could serve any reader. Neighbours: :mod:`.search` builds its index with :func:`name_key` and
:func:`romaji_key` and matches queries with :func:`query_keys` and :func:`match_rank`.

What is folded, so that the ways people type one place reach the same key:

* width: full-width ASCII and digits to half-width (``３`` → ``3``, ``ＡＢ`` → ``ab``), half-width
  katakana to full-width (``ｶﾜｻｷ`` → ``カワサキ``) — with jaconv;
* kana: katakana to hiragana (``カワサキ`` → ``かわさき``), so either script finds the other;
* numerals in addresses: kanji numerals before 丁目, 番地, 番, 号, 条 and 地割 become digits
  (``三丁目`` → ``3丁目``, ``十二番地`` → ``12番地``), the way e-Stat's 町丁 names and typed
  addresses differ;
* the small ヶ/ヵ/ケ and が between kanji (百合ヶ丘, 百合ケ丘, 百合が丘) are one letter;
* case, spaces, 中黒 (・) and the hyphen family (‐ - ー between digits, －) do not count.

Readings: the data gives romaji (``District.name_romaji``, ``Ward.name_en``), not kana; a query
in kana is turned into Hepburn romaji (jaconv) and compared with them through :func:`romaji_key`,
which drops what Hepburn spellings disagree on (long vowels ō/ou/oo, hyphens, spaces).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import jaconv

KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMERAL = "〇零一二三四五六七八九十百"
# A kanji numeral that counts something in an address: 三丁目, 十二番地, 四条, 二地割.
_ADDRESS_NUMBER = re.compile(rf"([{_NUMERAL}]+)(?=丁目|丁|番地|番|号|条|地割)")
_KANJI = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# ヶ (and its look-alikes) between two kanji is read が: 百合ヶ丘 = 百合ケ丘 = 百合が丘.
_SMALL_KE = re.compile(rf"(?<=[{_KANJI}])[ヶヵケけがガ](?=[{_KANJI}])")
_IGNORED = re.compile(r"[\s・･、，,.。「」『』（）()\[\]【】〈〉]+")
_HYPHENS = re.compile(r"[‐‑‒–—―−－ｰ]")
_ROMAJI_DROP = re.compile(r"[^a-z0-9]+")


def kanji_number(text: str) -> int | None:
    """``"三"`` → 3, ``"十二"`` → 12, ``"二十"`` → 20, ``"百五"`` → 105, ``"一〇"`` → 10 (digit by digit);
    None for anything that is not a kanji numeral below 1000."""
    if not text or any(ch not in _NUMERAL for ch in text):
        return None
    if "十" not in text and "百" not in text:  # written digit by digit: 一〇 = 10
        return int("".join(str(KANJI_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in KANJI_DIGITS:
            current = KANJI_DIGITS[ch]
        else:  # 十 or 百 multiplies the digit before it (or 1)
            total += (current or 1) * (10 if ch == "十" else 100)
            current = 0
    return total + current


def _digits_for_address_numbers(text: str) -> str:
    def replace(match: re.Match) -> str:
        number = kanji_number(match.group(1))
        return match.group(1) if number is None else str(number)

    return _ADDRESS_NUMBER.sub(replace, text)


def name_key(text: str | None) -> str:
    """The comparable form of a name or a query (see the module docstring); "" for nothing."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", str(text))
    text = jaconv.z2h(text, kana=False, ascii=True, digit=True)  # ３ → 3, Ａ → A
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)  # ｶ → カ
    text = _HYPHENS.sub("-", text)
    text = re.sub(r"(?<=\d)ー(?=\d)", "-", text)  # 1ー2: a long-vowel mark typed for a hyphen
    text = _IGNORED.sub("", text).lower()
    text = _SMALL_KE.sub("が", text)
    text = _digits_for_address_numbers(text)
    return jaconv.kata2hira(text)


def romaji_key(text: str | None) -> str:
    """Romaji without what Hepburn spellings disagree on: ``"Ōzenji-Chūō"``, ``"Ozenji Chuo"`` and
    ``"oozenjichuuou"`` all give ``"ozenjichuo"``. "" for nothing."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _ROMAJI_DROP.sub("", text)
    text = re.sub(r"([aiueo])\1+", r"\1", text)  # oo → o, uu → u
    return text.replace("ou", "o")


_KANA_ONLY = re.compile(r"^[\u3041-\u309f\u30a0-\u30ffー]+$")
_JAPANESE = re.compile(rf"[\u3040-\u30ff{_KANJI}]")
# A kanji numeral at the end of a query being typed (上麻生三 before 丁目 is typed).
_TRAILING_NUMBER = re.compile(rf"(?<=[^{_NUMERAL}])([{_NUMERAL}]+)$")


@dataclass(frozen=True)
class QueryKeys:
    """What a query is matched with: its name keys (the key, and the key with a kanji numeral that
    ends the query as digits) and its romaji key ("" when the query is not in kana or latin letters)."""

    names: tuple[str, ...]
    romaji: str

    def __bool__(self) -> bool:
        return bool(self.names)


def query_keys(query: str) -> QueryKeys:
    """The :class:`QueryKeys` of a query. The romaji key is set for a query in latin letters or in
    kana only (``"ゆりがおか"`` → ``"yurigaoka"``), to meet the romaji the data carries."""
    key = name_key(query)
    if not key:
        return QueryKeys((), "")
    names = [key]
    trailing = _TRAILING_NUMBER.search(key)
    if trailing and kanji_number(trailing.group(1)) is not None:
        names.append(key[:trailing.start()] + str(kanji_number(trailing.group(1))))
    romaji = ""
    if _KANA_ONLY.match(key):
        romaji = romaji_key(jaconv.kana2alphabet(key))
    elif not _JAPANESE.search(key):
        romaji = romaji_key(key)
    return QueryKeys(tuple(names), romaji)


EXACT, PREFIX, CONTAINS = 0, 1, 2
MATCH_NAMES = {EXACT: "exact", PREFIX: "prefix", CONTAINS: "contains"}


def match_rank(query_key: str, name: str) -> int | None:
    """How ``name`` (a key) matches ``query_key``: :data:`EXACT` (0), :data:`PREFIX` (1) — as one
    types —, :data:`CONTAINS` (2), or None."""
    if not query_key or not name:
        return None
    if name == query_key:
        return EXACT
    if name.startswith(query_key):
        return PREFIX
    if query_key in name:
        return CONTAINS
    return None


def best_rank(query: QueryKeys, names: tuple[str, ...], romaji: tuple[str, ...]) -> int | None:
    """The best :func:`match_rank` of a query over a place's name keys and its romaji keys."""
    ranks = [match_rank(key, name) for key in query.names for name in names]
    if query.romaji:
        ranks += [match_rank(query.romaji, reading) for reading in romaji]
    known = [rank for rank in ranks if rank is not None]
    return min(known) if known else None
