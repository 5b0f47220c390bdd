"""Leads: the raw record as submitted, and the lead that intake accepted or rejected."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from messages._base import Message

RawValue = str | int | float | bool | None

OPEN_RANGE = 10_000_000
"""``employees_max`` of an open range (``10,001+``): more employees than any company has."""


class Lead(Message):
    """A lead that passed intake: an email, or a name and a company; the rest as known.

    A field the record did not give is ``""`` (text) or ``None`` (``employees``): it is
    unknown, which the ICP scores as neither a fit nor a miss.
    """

    kind: Literal["lead"] = "lead"
    lead_id: str = Field(min_length=1)
    """The record's ``id``, or an id derived stably from the normalised email."""
    record: int = Field(ge=1)
    """The 1-based position of the record in the input."""
    first_name: str
    last_name: str
    email: str
    """Lower case; ``""`` when the lead has a name and a company instead."""
    title: str
    company: str
    domain: str
    """The company's web domain, lower case, without scheme or path: the email's domain
    when there is an email (the draft's links are bounded by it), else the ``domain``
    column's, else the website's. An email at a personal mailbox provider (``gmail.com``)
    names no company: its lead takes the column's or the website's domain, or none."""
    industry: str
    employees: int | None = Field(gt=0)
    """The head count, or the low end of a range such as ``51-200``; ``None`` if unknown."""
    country: str
    """ISO 3166 alpha-2, upper case, when the record's country was recognised."""
    notes: str
    """Free text from whoever collected the lead. Data, never instructions."""
    employees_max: int | None = Field(default=None, gt=0)
    """The high end of a head-count range (``200`` for ``51-200``, ``MAX_EMPLOYEES`` for
    ``10,001+``); ``None`` when ``employees`` is an exact count or unknown."""
    website: str = ""
    """The company's site as given (scheme, host, port and path), where web research
    starts; ``""`` means ``https://`` and the domain."""
    remarks: tuple[str, ...] = ()
    """What intake noticed that a reviewer should see, without rejecting the lead: a
    ``domain`` column that differs from the email's, a website it could not read."""

    @property
    def headcount(self) -> int | None:
        """One number for the company's size: the count, or the geometric midpoint of a
        closed range (``51-200`` is 101), or the low end of an open one (``10,001+``)."""
        if self.employees is None or self.employees_max is None:
            return self.employees
        if self.employees_max >= OPEN_RANGE:
            return self.employees
        return round(math.sqrt(self.employees * self.employees_max))

    @property
    def employees_text(self) -> str:
        """The head count as written for a person: ``761``, ``51-200``, ``10,001+``, or ``""``."""
        if self.employees is None:
            return ""
        if self.employees_max is None:
            return f"{self.employees:,}"
        if self.employees_max >= OPEN_RANGE:
            return f"{self.employees:,}+"
        return f"{self.employees:,}-{self.employees_max:,}"


class LeadSubmitted(Message):
    """One raw input record, as read from the file, before any checking."""

    kind: Literal["lead_submitted"] = "lead_submitted"
    record: int = Field(ge=1)
    """The 1-based position of the record in the input."""
    lead_id: str = Field(min_length=1)
    """Decided at read time, so that even a rejected record has a stable id."""
    fields: dict[str, RawValue]
    """The record's columns, exactly as read."""


class LeadAccepted(Message):
    """Intake accepted a record: research can start."""

    kind: Literal["lead_accepted"] = "lead_accepted"
    lead: Lead


class LeadRejected(Message):
    """Intake rejected a record (terminal outcome ``rejected``)."""

    kind: Literal["lead_rejected"] = "lead_rejected"
    record: int = Field(ge=1)
    lead_id: str
    reasons: tuple[str, ...] = Field(min_length=1)
    """Every problem found, not just the first."""
