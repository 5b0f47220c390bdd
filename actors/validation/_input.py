"""Input rules: a lead whose row looks wrong for a personal first email.

Intake accepts such a lead, because nothing in it is invalid: a personal mailbox, a shared
one, or a placeholder where a name should be. But a draft written from it may go to the
wrong person or greet "Hi Test", so these rules, run on the lead's score, bring its draft
to a person, who knows the account. They are review rules: no model answer can fix them.
"""

from __future__ import annotations

from collections.abc import Iterator

from actors.intake import is_personal_mailbox, is_shared_mailbox, mailbox_of
from actors.validation._context import RuleContext
from actors.validation._rule import rule
from actors.validation._text import fold, show
from messages import LeadScore

INPUT_RULES = ("input.personal_email", "input.shared_mailbox", "input.placeholder")
"""The ids of the rules below: the doubts that make an inbox item ``suspect_input``."""


PLACEHOLDERS = frozenset(
    {
        "test",
        "testing",
        "asdf",
        "qwerty",
        "n/a",
        "na",
        "none",
        "null",
        "nil",
        "unknown",
        "xxx",
        "x",
        "tbd",
        "tba",
        "dummy",
        "sample",
        "example",
        "foo",
        "bar",
        "-",
        "--",
        "?",
        ".",
        "first name",
        "firstname",
        "last name",
        "lastname",
        "name",
        "company",
        "company name",
        "lorem ipsum",
    }
)
"""Values a person types where a name or a company is unknown or made up."""

_NAMED = (("first_name", "first name"), ("last_name", "last name"), ("company", "company"))


@rule("input.personal_email")
def work_email(score: LeadScore, ctx: RuleContext) -> Iterator[str]:
    """The email is at a company, not at a personal mailbox provider: a personal address
    may not be the one the person reads at work, and says nothing of the company (intake
    takes the company's domain from the row's domain or website instead, if any)."""
    domain = score.lead.email.rpartition("@")[2]
    if is_personal_mailbox(domain):
        yield (
            f"The email is a personal address at {show(domain)}, so the company's domain is "
            "not known from it; check the address and the company before sending."
        )


@rule("input.shared_mailbox")
def personal_mailbox(score: LeadScore, ctx: RuleContext) -> Iterator[str]:
    """The email goes to a person, not to a shared or unattended mailbox (``info@``)."""
    if is_shared_mailbox(score.lead.email):
        yield (
            f"The email goes to the shared mailbox {show(mailbox_of(score.lead.email) + '@')}, "
            "not to a person; find the person's own address before sending."
        )


@rule("input.placeholder")
def real_names(score: LeadScore, ctx: RuleContext) -> Iterator[str]:
    """The first name, last name and company are not placeholders such as "Test" or "N/A"
    (one reason for all of them, so that a reviewer reads one sentence)."""
    lead = score.lead
    found = [
        f"{said} {show(value)}"
        for field, said in _NAMED
        if (value := getattr(lead, field)) and fold(value).strip() in PLACEHOLDERS
    ]
    if found:
        what = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
        yield (
            f"The lead's {what} look like placeholders; check the row before sending."
            if len(found) > 1
            else f"The lead's {what} looks like a placeholder; check the row before sending."
        )
