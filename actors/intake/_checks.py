"""Intake checks: from a raw record to clean lead fields, or to every reason it is bad.

Pure functions that never raise, whatever the types or the Unicode they are given: a
problem with one record is that record's rejection reason, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from actors.intake._employees import MAX_EMPLOYEES, head_count
from actors.intake._ids import explicit_id
from actors.intake._mailboxes import is_personal_mailbox
from actors.intake._record import ERROR_FIELD
from actors.intake._syntax import (
    bad_character,
    is_domain,
    is_email,
    normalise_domain,
    normalise_email,
)
from actors.intake._website import country_code, web_address

FIELD_LIMIT = 256
"""The most characters any field but ``notes`` may hold, once stripped."""
NOTES_LIMIT = 10_000
"""The most characters ``notes`` may hold, once stripped."""
FORMULA_STARTS = ("=", "+", "-", "@")
"""What an email may not start with: a spreadsheet opening an export would run it."""

__all__ = ["FIELD_LIMIT", "MAX_EMPLOYEES", "NOTES_LIMIT", "CleanFields", "check_record"]


class CleanFields(TypedDict):
    """A valid record's fields, normalised: what ``Lead`` takes besides id and record."""

    first_name: str
    last_name: str
    email: str
    title: str
    company: str
    domain: str
    industry: str
    employees: int | None
    country: str
    notes: str
    employees_max: int | None
    website: str
    remarks: tuple[str, ...]


def check_record(fields: Mapping[str, object]) -> CleanFields | list[str]:
    """The clean fields of a valid record, or every reason it is invalid. Never raises.

    A record the reader could not read (it has ``_error``) is rejected for that reason
    alone. A record needs an email, or a name and a company; every other field is
    optional, and a missing one becomes ``""`` (``None`` for ``employees``). Text is
    stripped, the email lower-cased, a full name split into first and last, the head
    count read as a count or a range, the country made an ISO code where it names one,
    and the domain taken from the email (or the domain column, or the website, when
    there is no email). What looks odd but is no reason to reject, such as a domain
    column that differs from the email's, becomes one of the lead's ``remarks``.
    """
    error = fields.get(ERROR_FIELD)
    if error is not None:
        return [error if isinstance(error, str) and error else "the record could not be read"]
    reasons: list[str] = []
    remarks: list[str] = []
    _check_id(fields.get("id"), reasons)
    first_name = _text(fields, "first_name", reasons)
    last_name = _text(fields, "last_name", reasons)
    full_name = _text(fields, "full_name", reasons)
    if full_name and not (first_name or last_name):
        first_name, _, rest = full_name.partition(" ")
        last_name = rest.strip()
    email_text = _text(fields, "email", reasons)
    email = _email(email_text, reasons)
    title = _text(fields, "title", reasons)
    company = _text(fields, "company", reasons)
    if not email_text and not ((first_name or last_name) and company):
        reasons.append("it has neither an email nor a name and a company; give one of them")
    website, site_host = _website(_text(fields, "website", reasons), remarks)
    domain = _domain(_text(fields, "domain", reasons), email, site_host, reasons, remarks)
    industry = _text(fields, "industry", reasons)
    employees = head_count(fields.get("employees"), reasons)
    country = country_code(_text(fields, "country", reasons))
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
        employees=None if employees is None else employees[0],
        country=country,
        notes=notes,
        employees_max=None if employees is None else employees[1],
        website=website,
        remarks=tuple(remarks),
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


def _domain(text: str, email: str, site_host: str, reasons: list[str], remarks: list[str]) -> str:
    """The email's domain; without an email, or with one at a personal mailbox provider,
    the domain column's, else the website's (else none: nothing names the company's)."""
    column = normalise_domain(text) if text else ""
    if text and not is_domain(column):
        reasons.append(f"domain {text!r} is not a valid web domain")
        return ""
    if not email:
        return column or normalise_domain(site_host)
    own = normalise_domain(email.rpartition("@")[2])
    if is_personal_mailbox(own):
        return _company_domain(own, column or normalise_domain(site_host), remarks)
    if column and column != own:
        remarks.append(
            f"The domain column says {column}, but the email is at {own}: identity, research "
            f"and the draft's links use {own}."
        )
    return own


def _company_domain(provider: str, given: str, remarks: list[str]) -> str:
    """The company's domain for a lead whose email is at a personal mailbox provider: the
    provider's is no company's, so research and the draft's links use ``given``, if any."""
    if given:
        remarks.append(
            f"The email is at {provider}, a personal mailbox provider: research and the "
            f"draft's links use {given}, from the row."
        )
    else:
        remarks.append(
            f"The email is at {provider}, a personal mailbox provider, and the row names no "
            "company domain or website: research has no company site to read."
        )
    return given


def _website(text: str, remarks: list[str]) -> tuple[str, str]:
    """The website as a URL and its host; ``("", "")``, with a remark, if it is none."""
    if not text:
        return "", ""
    address = web_address(text)
    if address is None:
        remarks.append(f"The website {text!r} is not a web address; research uses the domain.")
        return "", ""
    return address
