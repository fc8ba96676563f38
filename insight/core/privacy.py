"""Buyer privacy: phone numbers, ID and bank card numbers, e-mail and street addresses in chat text are
masked for viewers without the PII permission — in the pages, the exports and the reports alike,
because the library masks what it returns."""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["mask_pii", "mask_frame", "PII_MASK"]

PII_MASK = "＊"

_NOT_DIGIT_BEFORE, _NOT_DIGIT_AFTER = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
# Long digit runs, possibly grouped by spaces or dashes: ID and bank card candidates. Order numbers
# look the same (Taobao's have 18–19 digits), so a run is masked only when it is an ID (birth date
# and the GB 11643 check digit) or a card (the Luhn check) — an order number stays readable.
_DIGIT_RUN = re.compile(_NOT_DIGIT_BEFORE + r"\d(?:[ \-]?\d){14,18}[Xx]?" + _NOT_DIGIT_AFTER)
_PATTERNS: list[tuple[re.Pattern, str]] = [
    # mainland mobile numbers, also written 138-1234-5678 or +86 138 1234 5678: the first 3 and last 4 stay.
    (re.compile(_NOT_DIGIT_BEFORE + r"(?:\+?86[ \-]?)?(1[3-9]\d)[ \-]?\d{4}[ \-]?(\d{4})" + _NOT_DIGIT_AFTER), "mobile"),
    # landlines with an area code: 0571-88886666
    (re.compile(_NOT_DIGIT_BEFORE + r"(0\d{2,3})[ \-]?\d{7,8}" + _NOT_DIGIT_AFTER), "landline"),
    (re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})"), "email"),
    # street addresses: what follows a district, county or town up to a house, building or room number.
    (re.compile(r"(?<=[区县镇乡旗])[\u4e00-\u9fa5A-Za-z0-9\-#（）()]{1,30}?"
                r"(?:\d+|[一二三四五六七八九十百零]+)(?:号楼|号|栋|幢|单元|室|弄|楼)"
                r"(?:[\u4e00-\u9fa5A-Za-z0-9\-#]{0,10}?(?:\d+|[一二三四五六七八九十百零]+)(?:号楼|号|栋|幢|单元|室|楼))*"), "address"),
]
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


def _mask_run(m: re.Match) -> str:
    digits = re.sub(r"[ \-]", "", m.group(0))
    if _is_id(digits):
        return digits[:3] + PII_MASK * (len(digits) - 5) + digits[-2:]
    if _is_card(digits):
        return PII_MASK * 4 + digits[-4:]
    return m.group(0)


def _mask(kind: str, m: re.Match) -> str:
    stars = PII_MASK * 4
    if kind == "mobile":
        return f"{m.group(1)}{stars}{m.group(2)}"
    if kind == "landline":
        return f"{m.group(1)}-{PII_MASK * 6}"
    if kind == "email":
        return f"{m.group(1)}{stars}@{m.group(2)}"
    return PII_MASK * 6  # address detail


def mask_pii(text):
    """``text`` with buyers' personal data masked; non-strings (None, NaN) pass through."""
    if not isinstance(text, str) or not text:
        return text
    text = _DIGIT_RUN.sub(_mask_run, text)
    for pattern, kind in _PATTERNS:
        text = pattern.sub(lambda m, k=kind: _mask(k, m), text)
    return text


def mask_frame(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """A copy with the named text columns masked (absent columns are skipped)."""
    out = frame.copy()
    for col in columns:
        if col in out.columns:
            out[col] = out[col].map(mask_pii)
    return out
