"""Buyer privacy: phone numbers, ID and bank card numbers, e-mail and street addresses in chat text are
masked for viewers without the PII permission — in the pages, the exports and the reports alike,
because the library masks what it returns."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

__all__ = ["mask_pii", "mask_frame", "PII_MASK"]

PII_MASK = "＊"

# Text is matched in a normalised copy (NFKC: full-width digits and ＠ become plain; zero-width and
# soft-hyphen characters go) and masked in the original. A number is bounded by digits only: letters
# next to it (vx13812345678, tel…, …abc) do not protect it.
_NOT_DIGIT_BEFORE, _NOT_DIGIT_AFTER = r"(?<!\d)", r"(?!\d)"
_SEP = r"[\s.\-/_·—–－~]"  # what people write between digit groups (NBSP is a space after NFKC)
# Long digit runs, possibly grouped: ID and bank card candidates. Order numbers look the same (Taobao's
# have 18–19 digits), so a run is masked only when it is an ID (birth date and the GB 11643 check digit)
# or a card (the Luhn check) — an order number stays readable.
_DIGIT_RUN = re.compile(_NOT_DIGIT_BEFORE + rf"\d(?:{_SEP}?\d){{14,18}}[Xx]?" + _NOT_DIGIT_AFTER)
_PATTERNS: list[tuple[re.Pattern, str]] = [
    # mainland mobile numbers, however grouped: 138-1234-5678, +86 (138) 1234 5678, 138.1234.5678 — the
    # first 3 and last 4 stay.
    (re.compile(_NOT_DIGIT_BEFORE + rf"(?:\+?86{_SEP}*)?[(（]?(1[3-9]\d)[)）]?{_SEP}{{0,2}}\d{{4}}{_SEP}{{0,2}}(\d{{4}})"
                + _NOT_DIGIT_AFTER), "mobile"),
    # landlines with an area code: 0571-88886666, (0571)88886666, 0571 8888 6666
    (re.compile(_NOT_DIGIT_BEFORE + rf"[(（]?(0\d{{2,3}})[)）]?{_SEP}{{0,2}}\d{{3,4}}{_SEP}?\d{{4}}" + _NOT_DIGIT_AFTER),
     "landline"),
    # e-mail, Chinese local parts and 。 as a dot included
    (re.compile(r"([\w.%+\-])[\w.%+\-]*@([\w\-]+(?:[.。][\w\-]+)*[.。][A-Za-z]{2,})"), "email"),
    # street addresses: what follows a district, county or town up to a house, building or room number;
    # or a road, lane, village or estate with its number.
    (re.compile(r"(?<=[区县镇乡旗])[\u4e00-\u9fa5A-Za-z0-9\-#（）()]{1,30}?"
                r"(?:\d+|[一二三四五六七八九十百零]+)(?:号楼|号|栋|幢|单元|室|弄|楼)"
                r"(?:[\u4e00-\u9fa5A-Za-z0-9\-#]{0,10}?(?:\d+|[一二三四五六七八九十百零]+)(?:号楼|号|栋|幢|单元|室|楼))*"), "address"),
    (re.compile(r"(?:(?![省市区县])[\u4e00-\u9fa5]){1,12}?(?:路|街|大道|巷|胡同|村|小区|大厦|花园)[\u4e00-\u9fa5A-Za-z0-9\-#]{0,10}?"
                r"(?:\d+|[一二三四五六七八九十百零]+)(?:号楼|号|栋|幢|单元|室|弄|楼)"
                r"(?:[\u4e00-\u9fa5A-Za-z0-9\-#]{0,10}?(?:\d+|[一二三四五六七八九十百零]+)(?:号楼|号|栋|幢|单元|室|楼))*"), "address"),
]
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), "")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _valid_date(yyyymmdd: str) -> bool:
    import datetime as dt

    try:
        day = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return 1900 <= day.year <= 2100


def _is_id(digits: str) -> bool:
    if len(digits) == 18:
        check = "10X98765432"[sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS)) % 11]
        return digits[-1].upper() == check and _valid_date(digits[6:14])
    return len(digits) == 15 and digits.isdigit() and _valid_date("19" + digits[6:12])


def _is_card(digits: str) -> bool:
    if not (16 <= len(digits) <= 19 and digits.isdigit()):
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit() or c in "Xx")


def _mask_run(match: str) -> str | None:
    digits = _digits(match)
    if _is_id(digits):
        return digits[:3] + PII_MASK * (len(digits) - 5) + digits[-2:]
    if _is_card(digits):
        return PII_MASK * 4 + digits[-4:]
    return None  # an order number: readable


def _mask(kind: str, m: re.Match) -> str:
    stars = PII_MASK * 4
    if kind == "mobile":
        return f"{m.group(1)}{stars}{m.group(2)}"
    if kind == "landline":
        return f"{m.group(1)}-{PII_MASK * 6}"
    if kind == "email":
        return f"{m.group(1)}{stars}@{m.group(2)}"
    return PII_MASK * 6  # address detail


def _normalised(text: str) -> tuple[str, list[int]]:
    """``text`` normalised for matching, and for each of its characters the original's index."""
    out, index = [], []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).translate(_INVISIBLE):
            out.append(c)
            index.append(i)
    return "".join(out), index


def mask_pii(text):
    """``text`` with buyers' personal data masked; non-strings (None, NaN) pass through."""
    if not isinstance(text, str) or not text:
        return text
    norm, index = _normalised(text)
    spans: list[tuple[int, int, str]] = []  # (start, end) in ``norm``, replacement; earlier rules win

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e, _ in spans)
    for m in _DIGIT_RUN.finditer(norm):
        masked = _mask_run(m.group(0))
        if masked is not None:
            spans.append((m.start(), m.end(), masked))
    for pattern, kind in _PATTERNS:
        for m in pattern.finditer(norm):
            if m.end() > m.start() and free(m.start(), m.end()):
                spans.append((m.start(), m.end(), _mask(kind, m)))
    if not spans:
        return text
    out, last = [], 0
    for a, b, masked in sorted(spans):
        start, end = index[a], index[b - 1] + 1
        out.append(text[last:start])
        out.append(masked)
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_frame(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """A copy with the named text columns masked (absent columns are skipped)."""
    out = frame.copy()
    for col in columns:
        if col in out.columns:
            out[col] = out[col].map(mask_pii)
    return out
