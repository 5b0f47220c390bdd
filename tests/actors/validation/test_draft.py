"""Draft form rules: greeting, company, placeholders, lengths and the opt-out line."""

from __future__ import annotations

import pytest

from actors.validation import WRITING_RULES, RuleContext, check
from messages import Stage
from tests.support.outputs import BODY, CTX, SUBJECT, draft, draft_for, fired, lead, reasons


def test_valid_draft_passes() -> None:
    """The fixture draft breaks no rule, so each test below can change one thing."""
    assert check(draft(), CTX).passed
    assert WRITING_RULES.stage is Stage.WRITING


@pytest.mark.parametrize("opening", ["Hi Zoë,", "hello Zoë!", "DEAR Zoë", "\n  Hello   Zoë —"])
def test_greeting_accepted(opening: str) -> None:
    """Hi, Hello or Dear in any case, then the exact first name, opens a valid body."""
    assert fired(draft(body=BODY.replace("Hi Zoë,", opening))) == set()


def test_greeting_decomposed_name() -> None:
    """A first name spelled with a combining accent matches its composed form."""
    assert fired(draft(body=BODY.replace("Zoë", "Zoe\u0308", 1))) == set()


@pytest.mark.parametrize(
    "opening",
    ["Hi there,", "Hi zoë,", "Hi Zoe,", "Hi Zoëy,", "Hey Zoë,", "Zoë,", "Hi Martin,", "Hi,\nZoë,"],
)
def test_greeting_rejected(opening: str) -> None:
    """A body that does not open by greeting the contact's exact first name breaks greeting."""
    assert fired(draft(body=BODY.replace("Hi Zoë,", opening))) == {"draft.greeting"}


def test_greeting_reason() -> None:
    """The greeting reason quotes the opening line and shows the expected greeting."""
    output = draft(body=BODY.replace("Hi Zoë,", "Hello there,"))
    assert reasons(output) == [
        'The body opens with "Hello there," instead of greeting the contact by first name; '
        'start it with "Hi Zoë,".'
    ]


def test_greeting_other_name() -> None:
    """The expected name is the lead's: a greeting by another name breaks greeting."""
    output = draft_for(lead(first_name="Łukasz"))
    assert fired(output) == {"draft.greeting"}
    assert fired(draft_for(lead(first_name="Łukasz"), body=BODY.replace("Zoë", "Łukasz"))) == set()


def test_company_missing() -> None:
    """A draft whose subject and body never name the company breaks draft.company."""
    output = draft(
        subject="Your data stack after the Series A",
        body=BODY.replace("Arclight Academy's", "your"),
    )
    assert fired(output) == {"draft.company"}
    assert reasons(output) == [
        'Neither the subject nor the body names the company "Arclight Academy"; '
        "mention it by that name."
    ]


def test_company_in_subject_only() -> None:
    """Naming the company in the subject alone is enough, in any case."""
    output = draft(
        subject="ARCLIGHT ACADEMY and its data", body=BODY.replace("Arclight Academy's", "your")
    )
    assert fired(output) == set()


def test_company_must_be_whole_words() -> None:
    """A company name inside a longer word does not count as naming it."""
    output = draft_for(lead(company="Arc"))
    assert fired(output) == {"draft.company"}


@pytest.mark.parametrize(
    "placeholder",
    [
        "{{first_name}}",
        "{{",
        "}}",
        "[Name]",
        "[First Name]",
        "[Company]",
        "<company>",
        "<first_name>",
        "{first_name}",
        "{company}",
        "XXX",
        "TODO",
        "[INSERT case study]",
        "[insert link here]",
        "[Something]",
        "{something}",
        "<something else>",
        "[Société]",
        "{}",
    ],
)
def test_placeholder_in_body(placeholder: str) -> None:
    """An unfilled placeholder in the body breaks draft.placeholder, and only that rule."""
    output = draft(body=BODY.replace("Would a short", f"{placeholder} Would a short"))
    assert fired(output) == {"draft.placeholder"}


def test_placeholder_in_subject() -> None:
    """An unfilled placeholder in the subject breaks draft.placeholder, naming the subject."""
    output = draft(subject=f"{SUBJECT} for [First Name]")
    assert reasons(output) == [
        'The subject contains the unfilled placeholder "[First Name]"; '
        "replace it with the real value or rephrase without it."
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Write to <alex.morgan@leadwright.example> any time.",
        "We saw a 42 (sic) increase.",
        "Pick a slot [1] or [2].",
        "Most teams do this to-do list xx later.",
    ],
)
def test_not_placeholders(text: str) -> None:
    """Email addresses in angle brackets, parentheses, digits and lower-case marks are prose."""
    output = draft(body=BODY.replace("Would a short", f"{text} Would a short"))
    assert "draft.placeholder" not in fired(output)


def test_body_too_short() -> None:
    """A body shorter than the minimum breaks draft.length, with both numbers."""
    ctx = RuleContext(sender_domain="leadwright.example", min_body_chars=len(BODY) + 1)
    assert fired(draft(), ctx) == {"draft.length"}
    assert reasons(draft(), ctx) == [
        f"The body has {len(BODY)} characters, fewer than the minimum of {len(BODY) + 1}; "
        "write a fuller email."
    ]


def test_body_too_long() -> None:
    """A body longer than the maximum breaks draft.length."""
    ctx = RuleContext(sender_domain="leadwright.example", max_body_chars=len(BODY) - 1)
    assert fired(draft(), ctx) == {"draft.length"}
    assert fired(draft(body=BODY + "\n\nThanks again." * 100)) == {"draft.length"}


def test_body_length_ignores_surrounding_whitespace() -> None:
    """Whitespace around the body neither pads it to the minimum nor counts against the maximum."""
    exact = RuleContext(
        sender_domain="leadwright.example", min_body_chars=len(BODY), max_body_chars=len(BODY)
    )
    assert fired(draft(body=f"\n\n{BODY}  \n"), exact) == set()


def test_subject_too_long() -> None:
    """A subject longer than the maximum breaks draft.subject_length."""
    output = draft(subject=SUBJECT + " and what comes next" * 4)
    assert fired(output) == {"draft.subject_length"}
    assert fired(draft(subject=SUBJECT.ljust(120, "!"))) == set()


def test_subject_blank() -> None:
    """A subject of whitespace alone breaks draft.subject_length."""
    output = draft(subject="   ", body=BODY)
    assert fired(output) == {"draft.subject_length"}


@pytest.mark.parametrize(
    "line",
    [
        "Not interested? Just reply and I won't write again.",
        "NOT INTERESTED?  just reply.",
        "To unsubscribe, reply STOP.",
        "You can opt out at any time.",
        "Reply to opt-out.",
        "Let me know if you’d rather not hear from me.",
    ],
)
def test_opt_out_accepted(line: str) -> None:
    """Each accepted opt-out phrase passes, in any case and with either apostrophe."""
    body = BODY.replace("Not interested? Just reply and I won't write again.", line)
    assert fired(draft(body=body)) == set()


def test_opt_out_missing() -> None:
    """A body without an opt-out line breaks draft.opt_out."""
    output = draft(body=BODY.replace("Not interested? Just reply and I won't write again.", ""))
    assert fired(output) == {"draft.opt_out"}


@pytest.mark.parametrize("markup", ["<script>alert(1)</script>", "<b>now</b>", "&lt;"])
def test_markup_in_the_body_breaks_draft_markup(markup: str) -> None:
    """A tag or an HTML entity in a draft breaks draft.markup: drafts are plain text."""
    output = draft(body=BODY.replace("Would a short", f"{markup} Would a short"))
    assert "draft.markup" in fired(output)


@pytest.mark.parametrize("text", ["a <zoe@heron-industries.de>", "under 5 < 6 and 7 > 6"])
def test_angle_brackets_in_prose_are_not_markup(text: str) -> None:
    """An email address in angle brackets, and comparisons, are not markup."""
    output = draft(body=BODY.replace("Would a short", f"{text} Would a short"))
    assert "draft.markup" not in fired(output)


@pytest.mark.parametrize(
    ("character", "name"),
    [
        ("\u202e", "RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066", "LEFT-TO-RIGHT ISOLATE"),
        ("\u200b", "ZERO WIDTH SPACE"),
        ("\u00ad", "SOFT HYPHEN"),
    ],
)
def test_a_format_character_breaks_draft_format_character(character: str, name: str) -> None:
    """A bidirectional control or another invisible format character in the body or the
    subject is flagged, named by its code point."""
    code = f"U+{ord(character):04X}"
    output = draft(body=BODY.replace("Would a short", f"Would{character} a short"))
    assert fired(output) == {"draft.format_character"}
    assert reasons(output) == [
        f"The body contains an invisible format character {code} ({name}); remove it and "
        "write plain text."
    ]
    assert fired(draft(subject=SUBJECT + character)) == {"draft.format_character"}


def test_zero_width_joiners_are_not_flagged() -> None:
    """The joiners that scripts and emoji sequences need pass."""
    assert fired(draft(body=BODY.replace("Would a short", "Would a 👩\u200d💻 short"))) == set()
