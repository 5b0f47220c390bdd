"""Head counts: an exact count, or a range as exports write them (``51-200``, ``10,001+``)."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from messages import OPEN_RANGE

MAX_EMPLOYEES = OPEN_RANGE
"""More employees than any company has: a typo, not a lead."""

_COUNT = r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+"
_NUMBER = re.compile(rf"[+-]?(?:{_COUNT})(?:\.[0-9]*)?")
_RANGE = re.compile(rf"(?P<low>{_COUNT})\s*(?:-|–|—|to)\s*(?P<high>{_COUNT})", re.IGNORECASE)
_OPEN = re.compile(rf"(?P<low>{_COUNT})\s*\+")
_SUFFIX = re.compile(r"\s*(?:employees|people|staff)\s*$", re.IGNORECASE)

HeadCount = tuple[int, int | None]
"""The count or the range's low end, and the range's high end (``None``: exact)."""


def head_count(value: object, reasons: list[str]) -> HeadCount | None:
    """The head count of ``value``, ``None`` when it is empty (unknown); a bad value adds
    a reason. Ranges are ``51-200``, ``1,001-5,000``, ``51 to 200``, ``10,001+``; a
    count is a positive whole number, maybe written ``"1,200"`` or ``"1200.0"``."""
    if value is None:
        return None
    if isinstance(value, str):
        return _text(value.strip(), reasons)
    if isinstance(value, float) and not math.isfinite(value):
        reasons.append(f"employees {value!r} is not a number")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if abs(value) >= 2**64:  # surely wrong, and too long to quote (repr may refuse)
            reasons.append(f"employees must be between 1 and {MAX_EMPLOYEES:,}")
            return None
        count = _count(Decimal(value), repr(value), reasons)
        return None if count is None else (count, None)
    else:
        reasons.append(f"employees must be a number or a range, not {type(value).__name__}")
    return None


def _text(text: str, reasons: list[str]) -> HeadCount | None:
    text = _SUFFIX.sub("", text)
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        count = _count(Decimal(text.replace(",", "")), repr(text), reasons)
        return None if count is None else (count, None)
    if match := _RANGE.fullmatch(text):
        low = _count(Decimal(match["low"].replace(",", "")), repr(text), reasons)
        high = _count(Decimal(match["high"].replace(",", "")), repr(text), reasons)
        if low is None or high is None:
            return None
        if high < low:
            reasons.append(f"employees {text!r} is a range whose end is below its start")
            return None
        return (low, None) if low == high else (low, high)
    if match := _OPEN.fullmatch(text):
        low = _count(Decimal(match["low"].replace(",", "")), repr(text), reasons)
        return None if low is None else (low, OPEN_RANGE)
    reasons.append(f"employees {text!r} is not a number or a range such as 51-200")
    return None


def _count(number: Decimal, shown: str, reasons: list[str]) -> int | None:
    if number != number.to_integral_value():
        reasons.append(f"employees {shown} is not a whole number")
    elif number < 1:
        reasons.append(f"employees {shown} must be at least 1")
    elif number > MAX_EMPLOYEES:
        reasons.append(f"employees {shown} must be at most {MAX_EMPLOYEES:,}")
    else:
        return int(number)
    return None
