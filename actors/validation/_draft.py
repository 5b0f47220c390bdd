"""Draft form rules: greeting, company, placeholders, lengths and the opt-out line."""

from __future__ import annotations

import re
from collections.abc import Iterator

from actors.intake import format_character
from actors.validation._context import RuleContext
from actors.validation._rule import rule
from actors.validation._text import ends_word, fold, nfc, show
from messages import OutreachDraft

GREETINGS: tuple[str, ...] = ("hi", "hello", "dear")
"""The words that may open the body before the contact's first name, in any case."""

OPT_OUT_PHRASES: tuple[str, ...] = (
    "unsubscribe",
    "opt out",
    "opt-out",
    "not interested? just reply",
    "let me know if you'd rather not hear from me",
)
"""A body must contain one of these, compared folded (case, whitespace, curly quotes)."""

_FOLDED_OPT_OUT_PHRASES = tuple(fold(phrase) for phrase in OPT_OUT_PHRASES)
_PLACEHOLDER = re.compile(
    r"""
    \{\{[^{}\n]{0,60}\}\} | \{\{ | \}\}          # template slots: {{ name }}, or half of one
    | (?i:\[insert) | XXX | TODO                 # writer's marks (XXX and TODO upper case)
    | \[[^\W\d](?:[^\W\d]|\ )*\]                 # [Name], [First Name], [Something]
    | \{[^\W\d](?:[^\W\d]|\ )*\} | \{\s*\}       # {first_name}, {company}, {}
    | <[^\W\d](?:[^\W\d]|\ )*>                   # <company>, <first_name>; not <a@b.com>
    """,
    re.VERBOSE,
)
_GREETING = re.compile(r"\s*(?i:" + "|".join(GREETINGS) + r")[^\S\r\n]+")
_BARE_GREETING = re.compile(r"\s*(?i:" + "|".join(GREETINGS) + r")\b")


@rule("draft.greeting")
def greets_by_first_name(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """The body opens with a greeting word and the contact's exact first name.

    The greeting word (``GREETINGS``) may be in any case; the name must be as the lead
    spells it, up to Unicode normalisation, and end there (``Hi Zoë,`` but not ``Hi Zoëy``).
    A lead whose row gives no first name is greeted without one (``Hello,``).
    """
    body = nfc(draft.body)
    name = nfc(draft.lead.first_name.strip())
    if not name:
        if _BARE_GREETING.match(body):
            return
        first_line = body.strip().split("\n", 1)[0]
        yield (
            f"The body opens with {show(first_line, 40)} instead of a greeting; the lead has "
            'no first name, so start it with "Hello,".'
        )
        return
    opening = _GREETING.match(body)
    end = opening.end() if opening else 0
    if opening and body.startswith(name, end) and ends_word(body, end + len(name)):
        return
    first_line = body.strip().split("\n", 1)[0]
    yield (
        f"The body opens with {show(first_line, 40)} instead of greeting the contact by first "
        f'name; start it with "Hi {name},".'
    )


@rule("draft.company")
def names_company(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """The subject or the body names the lead's company, as a whole word or words (when
    the row names the company at all)."""
    company = fold(draft.lead.company)
    if not company:
        return
    text = fold(f"{draft.subject}\n{draft.body}")
    found = company and re.search(rf"(?<!\w){re.escape(company)}(?!\w)", text)
    if not found:
        yield (
            f"Neither the subject nor the body names the company {show(draft.lead.company)}; "
            "mention it by that name."
        )


@rule("draft.placeholder")
def no_placeholders(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """Neither the subject nor the body holds an unfilled placeholder.

    Drafts are plain text, so any bracketed, braced or angled run of letters, underscores
    and spaces is a placeholder; an email address in angle brackets is not.
    """
    for field, text in (("subject", draft.subject), ("body", draft.body)):
        for token in dict.fromkeys(m.group() for m in _PLACEHOLDER.finditer(text)):
            yield (
                f"The {field} contains the unfilled placeholder {show(token)}; "
                "replace it with the real value or rephrase without it."
            )


_HTML_TAGS = (
    "a|b|i|u|p|br|hr|em|strong|font|div|span|img|svg|script|style|iframe|object|embed|link|"
    "meta|form|input|button|table|tr|td|th|ul|ol|li|h[1-6]|html|head|body|title"
)
_MARKUP = re.compile(
    rf"</\s*[A-Za-z][\w-]*\s*>"  # a closing tag
    rf"|<\s*[A-Za-z][\w-]*\s[^<>]*=[^<>]*>"  # a tag with an attribute
    rf"|<\s*(?:{_HTML_TAGS})\s*/?>"  # an HTML element by name
    rf"|&#?\w+;"  # an entity
)
"""Markup, told from a placeholder such as ``<company>``, which ``draft.placeholder`` owns."""


@rule("draft.markup")
def no_markup(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """Neither the subject nor the body holds markup (an HTML tag or entity).

    A draft is plain text that reaches a person's mail client: a tag, such as a script
    taken from hostile lead data, must never ride along in it.
    """
    for field, text in (("subject", draft.subject), ("body", draft.body)):
        for token in dict.fromkeys(m.group() for m in _MARKUP.finditer(text)):
            yield f"The {field} contains markup {show(token)}; write plain text."


@rule("draft.length")
def body_length(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """The body, without surrounding whitespace, has a length within the bounds."""
    length = len(draft.body.strip())
    if length < ctx.min_body_chars:
        yield (
            f"The body has {length} characters, fewer than the minimum of "
            f"{ctx.min_body_chars}; write a fuller email."
        )
    elif length > ctx.max_body_chars:
        yield (
            f"The body has {length} characters, more than the maximum of "
            f"{ctx.max_body_chars}; shorten it."
        )


@rule("draft.subject_length")
def subject_length(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """The subject, without surrounding whitespace, is not blank and not too long."""
    length = len(draft.subject.strip())
    if length == 0:
        yield "The subject is blank; write a short subject line."
    elif length > ctx.max_subject_chars:
        yield (
            f"The subject has {length} characters, more than the maximum of "
            f"{ctx.max_subject_chars}; shorten it."
        )


@rule("draft.opt_out")
def has_opt_out(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """The body contains one of ``OPT_OUT_PHRASES``."""
    body = fold(draft.body)
    if not any(phrase in body for phrase in _FOLDED_OPT_OUT_PHRASES):
        yield (
            "The body has no opt-out line; end it with one such as "
            '"Not interested? Just reply and I will not write again."'
        )


@rule("draft.format_character")
def no_format_characters(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """Neither the subject nor the body holds an invisible format character (category Cf,
    but for the zero-width joiners): a bidirectional override shows the text after it
    reversed, so the reader would not see what the reviewer approved."""
    for field, text in (("subject", draft.subject), ("body", draft.body)):
        found = format_character(text)
        if found is not None:
            yield f"The {field} contains {found}; remove it and write plain text."
