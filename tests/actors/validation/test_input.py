"""Input rules: a lead whose row looks wrong for a personal first email (a personal or
shared mailbox, a placeholder for a name) is drafted, and a person sees why."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.intake import PERSONAL_MAIL_DOMAINS, SHARED_MAILBOXES
from actors.validation import INPUT_RULES, RULE_IDS, SCORING_RULES, explain, topic
from actors.validation._input import PLACEHOLDERS
from messages import LeadScore, RuleViolation
from tests.support.outputs import fired, lead, reasons, research, score


def scored(**changes: object) -> LeadScore:
    """The passing fixture score of a lead with ``changes``."""
    return score(research=research(lead=lead(**changes)))


@pytest.mark.parametrize(
    ("changes", "rule", "reason", "sentence"),
    [
        (
            {"email": "zoe.martin@gmail.com", "domain": "gmail.com"},
            "input.personal_email",
            'The email is a personal address at "gmail.com", so the company\'s domain is not '
            "known from it; check the address and the company before sending.",
            "The email is a personal address at gmail.com: check that it reaches this "
            "person at this company.",
        ),
        (
            {"email": "info+leads@arclight-academy.com"},
            "input.shared_mailbox",
            'The email goes to the shared mailbox "info@", not to a person; find the '
            "person's own address before sending.",
            "The email goes to a shared mailbox (info@), not to a person.",
        ),
        (
            {"last_name": "N/A"},
            "input.placeholder",
            'The lead\'s last name "N/A" looks like a placeholder; check the row before sending.',
            "The lead's row holds a placeholder (N/A) where a name should be.",
        ),
    ],
)
def test_a_row_that_looks_wrong_is_a_doubt_in_plain_words(
    changes: dict[str, str], rule: str, reason: str, sentence: str
) -> None:
    """Each input rule fires on its own, at review level (no model could fix the row),
    with a reason and a sentence a reviewer reads."""
    output = scored(**changes)
    assert fired(output) == {rule}
    assert reasons(output) == [reason]
    assert explain(RuleViolation(rule=rule, reason=reason)) == sentence
    assert topic(rule) != rule
    assert {r.__name__ for r in SCORING_RULES.review} >= {"work_email", "personal_mailbox"}


def test_the_input_rules_are_rules_a_rule_set_can_turn_off() -> None:
    assert set(INPUT_RULES) <= set(RULE_IDS)


@given(
    st.sampled_from(sorted(PLACEHOLDERS)),
    st.sampled_from(["first_name", "last_name", "company"]),
    st.sampled_from(["", " ", "  "]),
)
def test_a_placeholder_is_found_in_any_case_and_spacing(value: str, field: str, pad: str) -> None:
    output = scored(**{field: pad + value.upper() + pad})
    assert "input.placeholder" in fired(output)


@given(
    st.sampled_from(sorted(SHARED_MAILBOXES | {"ana", "ana.lopez", "j", "informatics"})),
    st.sampled_from(sorted(PERSONAL_MAIL_DOMAINS | {"arclight-academy.com"})),
)
def test_the_rules_name_shared_and_personal_mailboxes_and_nothing_else(
    local: str, domain: str
) -> None:
    """A real person's address at a company's domain breaks no input rule."""
    output = scored(email=f"{local}@{domain}", domain=domain)
    found = fired(output)
    assert ("input.shared_mailbox" in found) == (local in SHARED_MAILBOXES)
    assert ("input.personal_email" in found) == (domain in PERSONAL_MAIL_DOMAINS)


def test_placeholders_in_several_fields_are_one_reason() -> None:
    """A row of "Test Test" is one thing to check, said once."""
    output = scored(first_name="Test", last_name="test")
    assert reasons(output) == [
        'The lead\'s first name "Test" and last name "test" look like placeholders; check '
        "the row before sending."
    ]
    assert explain(RuleViolation(rule="input.placeholder", reason=reasons(output)[0])) == (
        "The lead's row holds a placeholder (Test) where a name should be."
    )
