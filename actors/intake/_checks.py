"""Intake checks: from a raw record to clean lead fields, or to every reason it is bad.

Pure functions that never raise, whatever the types or the Unicode they are given: a
problem with one record is that record's rejection reason, never a crash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TypedDict

from actors.intake._ids import explicit_id
from actors.intake._record import ERROR_FIELD
from actors.intake._syntax import (
    bad_character,
    is_domain,
    is_email,
    normalise_domain,
    normalise_email,
)

FIELD_LIMIT = 256
"""The most characters any field but ``notes`` may hold, once stripped."""
NOTES_LIMIT = 10_000
"""The most characters ``notes`` may hold, once stripped."""
MAX_EMPLOYEES = 10_000_000
"""More employees than any company has: a typo, not a lead."""
FORMULA_STARTS = ("=", "+", "-", "@")
"""What an email may not start with: a spreadsheet opening an export would run it."""

_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?")


class CleanFields(TypedDict):
    """A valid record's fields, normalised: what ``Lead`` takes besides id and record."""

    first_name: str
    last_name: str
    email: str
    title: str
    company: str
    domain: str
    industry: str
    employees: int
    country: str
    notes: str


def check_record(fields: Mapping[str, object]) -> CleanFields | list[str]:
    """The clean fields of a valid record, or every reason it is invalid. Never raises.

    A record the reader could not read (it has ``_error``) is rejected for that reason
    alone. Otherwise text is stripped, the email lower-cased, the domain normalised
    (or taken from the email), the country upper-cased, and a missing optional field
    becomes ``""``.
    """
    error = fields.get(ERROR_FIELD)
    if error is not None:
        return [error if isinstance(error, str) and error else "the record could not be read"]
    reasons: list[str] = []
    _check_id(fields.get("id"), reasons)
    first_name = _text(fields, "first_name", reasons, required=True)
    last_name = _text(fields, "last_name", reasons)
    email = _email(_text(fields, "email", reasons, required=True), reasons)
    title = _text(fields, "title", reasons)
    company = _text(fields, "company", reasons, required=True)
    domain = _domain(_text(fields, "domain", reasons), email, reasons)
    industry = _text(fields, "industry", reasons)
    employees = _employees(fields.get("employees"), reasons)
    country = _text(fields, "country", reasons).upper()
    notes = _text(fields, "notes", reasons, limit=NOTES_LIMIT)
    if reasons:
        return reasons
    return CleanFields(
        first_name=first_name,
        last_name=last_name,
        email=email,
        title=title,
        company=company,
        domain=domain,
        industry=industry,
        employees=employees,
        country=country,
        notes=notes,
    )


def _text(
    fields: Mapping[str, object],
    column: str,
    reasons: list[str],
    *,
    required: bool = False,
    limit: int = FIELD_LIMIT,
) -> str:
    """The stripped text of ``column``: ``""`` when missing or bad (with a reason)."""
    value = fields.get(column)
    if value is not None and not isinstance(value, str):
        reasons.append(f"{column} must be text, not {type(value).__name__}")
        return ""
    text = value.strip() if value is not None else ""
    if len(text) > limit:
        reasons.append(f"{column} is {len(text):,} characters long, over the limit of {limit:,}")
        return ""
    if (bad := bad_character(text, multiline=column == "notes")) is not None:
        reasons.append(f"{column} contains {bad}")
        return ""
    if required and not text:
        reasons.append(f"{column} is missing")
    return text


def _check_id(value: object, reasons: list[str]) -> None:
    if value is None or isinstance(value, str):
        text = _text({"id": value}, "id", reasons)
        if text in (".", ".."):
            # A URL path reads a segment of dots as "here" or "up": no page could name it.
            reasons.append(f"id {text!r} cannot name the lead's page in a URL; choose another")
    elif explicit_id(value) is None:
        reasons.append(f"id must be text or a whole number, not {type(value).__name__}")


def _email(text: str, reasons: list[str]) -> str:
    if not text:
        return ""
    address = normalise_email(text)
    if address is None or not is_email(address):
        reasons.append(f"email {text!r} is not a valid address")
        return ""
    if address.startswith(FORMULA_STARTS):
        reasons.append(
            f"email {text!r} starts with {address[0]!r}, which a spreadsheet runs as a "
            "formula; correct the address"
        )
        return ""
    return address


def _domain(text: str, email: str, reasons: list[str]) -> str:
    if not text:
        return normalise_domain(email.rpartition("@")[2]) if email else ""
    domain = normalise_domain(text)
    if not is_domain(domain):
        reasons.append(f"domain {text!r} is not a valid web domain")
        return ""
    return domain


def _employees(value: object, reasons: list[str]) -> int:
    """The head count: a positive whole number, maybe written ``"1,200"`` or ``"1200.0"``."""
    if isinstance(value, str):
        text = _text({"employees": value}, "employees", reasons)
        if not text:
            if not value.strip():
                reasons.append("employees is missing")
            return 0
        if not _NUMBER.fullmatch(text):
            reasons.append(f"employees {text!r} is not a number")
            return 0
        return _count(Decimal(text.replace(",", "")), repr(text), reasons)
    if value is None:
        reasons.append("employees is missing")
    elif isinstance(value, float) and not math.isfinite(value):
        reasons.append(f"employees {value!r} is not a number")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if abs(value) >= 2**64:  # surely wrong, and too long to quote (repr may refuse)
            reasons.append(f"employees must be between 1 and {MAX_EMPLOYEES:,}")
            return 0
        return _count(Decimal(value), repr(value), reasons)
    else:
        reasons.append(f"employees must be a number, not {type(value).__name__}")
    return 0


def _count(number: Decimal, shown: str, reasons: list[str]) -> int:
    if number != number.to_integral_value():
        reasons.append(f"employees {shown} is not a whole number")
    elif number < 1:
        reasons.append(f"employees {shown} must be at least 1")
    elif number > MAX_EMPLOYEES:
        reasons.append(f"employees {shown} must be at most {MAX_EMPLOYEES:,}")
    else:
        return int(number)
    return 0
