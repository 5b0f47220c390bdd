"""What the offline engine answers at each stage: research that quotes the evidence
verbatim, a score near the ICP prior with reasons from the row, and a short draft built
only from the research (lead notes are data: never read)."""

from __future__ import annotations

import random
import re

from actors.intake import SeniorityScale
from actors.llm._chaos import Data, fit_band
from actors.llm._offline_inputs import ResearchInputs, ScoringInputs, SenderInput, WritingInputs
from messages import Lead

# Research

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
_MAX_QUOTE = 240
_WORD = re.compile(r"[^\W\d_]{3}")
"""A run of three letters: what makes a sentence worth quoting."""


def research_reply(inputs: ResearchInputs, rng: random.Random) -> Data:
    company = inputs.company_name
    found = [(item, span) for item in inputs.evidence for span in _spans(item.text)]
    if not found:
        summary = f"Nothing is known about {company}: the sources returned no usable evidence."
        return {"summary": summary, "claims": []}
    picks = sorted(rng.sample(range(len(found)), min(len(found), rng.randint(2, 4))))
    quoted = [found[index] for index in picks]
    claims = [
        {
            "text": _paraphrase(span, item.source, company, rng),
            "evidence_ids": [item.evidence_id],
            "quote": span,
        }
        for item, span in quoted
    ]
    quotes = " ".join(span for _, span in quoted[:2])
    return {"summary": f"What the evidence says about {company}: {quotes}", "claims": claims}


def _spans(text: str) -> list[str]:
    """The sentences of ``text`` worth quoting, each a verbatim substring of it."""
    spans = []
    for sentence in _SENTENCE_BREAK.split(text.strip()):
        span = sentence.strip()
        if len(span) > _MAX_QUOTE:
            cut = span.rfind(" ", 0, _MAX_QUOTE)
            span = span[: cut if cut > 0 else _MAX_QUOTE].rstrip(" ,;:")
        if len(span) >= 8 and _WORD.search(span):
            spans.append(span)
    return spans


def _paraphrase(span: str, source: str, company: str, rng: random.Random) -> str:
    if source.startswith("kb:"):
        where = "the knowledge base"
    elif source.startswith(("http://", "https://")):
        where = "the company's website"
    else:
        where = "the evidence"
    if span.startswith("It "):
        return f"According to {where}, {company} {span[3:]}"
    if span.startswith(company):
        return f"According to {where}, {span}"
    return rng.choice((f"The company states: {span}", f"According to {where}: {span}"))


# Scoring

PART_IN_A_PURCHASE = SeniorityScale(
    levels=(
        (
            "a senior decision-maker",
            r"\b(chief|c[a-z]o|vp|vice president|head|director|founder|president)\b",
        ),
        ("likely to influence a purchase", r"\b(lead|manager|principal|senior|staff)\b"),
    ),
    default="a hands-on practitioner",
)
"""What a contact's title says of their part in a purchase, for the score's reasons."""


def score_reply(inputs: ScoringInputs, rng: random.Random) -> Data:
    """A score near the ICP prior, with reasons about the fields the row gives only: a
    field in ``unknown_fields`` counts neither for nor against, so no reason names it."""
    lead = inputs.lead.as_lead()
    score = min(100, max(0, inputs.icp_score + rng.randint(-8, 8)))
    company = lead.company or "The company"
    person = lead.first_name or "The contact"
    reasons = [
        f"Industry: {company} works in {lead.industry}." if lead.industry else "",
        f"Size: {company} has {lead.employees_text} employees, {_size(lead.headcount)}."
        if lead.headcount is not None
        else "",
        f"Country: {company} is based in {lead.country}." if lead.country else "",
        f"Title: {person} is {lead.title}, {PART_IN_A_PURCHASE.level(lead.title)}."
        if lead.title
        else "",
    ]
    known = [reason for reason in reasons if reason]
    if not known:
        known = [f"Nothing in the row places {company} in or out of the profile."]
    picks = sorted(rng.sample(range(len(known)), min(len(known), rng.randint(2, 3))))
    return {
        "fit": fit_band(score, high=inputs.thresholds.high, medium=inputs.thresholds.medium),
        "score": score,
        "confidence": round(rng.uniform(0.7, 0.95), 2),
        "reasons": [known[index] for index in picks],
    }


def _size(employees: int | None) -> str:
    if employees is None:
        return "an unknown size"
    if employees < 50:
        return "a small team"
    if employees < 1000:
        return "a mid-sized company"
    return "a large company" if employees < 5000 else "an enterprise"


# Writing

OPT_OUT = 'If you\'d rather not hear from me, just reply "unsubscribe".'
"""The opt-out line that ends every draft."""

_MAX_BODY = 1200
_URLISH = re.compile(r"://|www\.|@|\.(?:com|net|org|io|ai|co|de|uk|fr|es|it|nl|eu|app|dev)\b", re.I)
_ASKS = (
    "Would you be open to a short call next week to see whether it could help?",
    "If this sounds relevant, could we find a quick slot next week to compare notes?",
)


def draft_reply(inputs: WritingInputs, rng: random.Random) -> Data:
    lead, sender = inputs.lead.as_lead(), inputs.sender
    usable = [quote for quote in inputs.research.quotes if _quotable(quote, lead.notes)]
    quote = rng.choice(usable) if usable else None
    company = lead.company or "your team"
    subjects = [
        subject
        for subject in (
            f"A question for {company}",
            f"{company} and {sender.company}",
            f"An idea for the team at {company}",
        )
        if len(subject) <= 80
    ]
    subject = rng.choice(subjects) if subjects else company[:80]
    body = _body(lead, sender, quote, rng)
    if len(body) > _MAX_BODY and quote is not None:
        body = _body(lead, sender, None, rng)
    return {"subject": subject, "body": body}


def _body(lead: Lead, sender: SenderInput, quote: str | None, rng: random.Random) -> str:
    """The email: a greeting (by first name when the row gives one), an opening on a
    quoted claim or on what the row says, the pitch, an ask, the signature, the opt-out."""
    company = lead.company or "your company"
    if quote is None:
        # Nothing researched: the lead's own row is all it may use, and it claims nothing.
        opening = f"I am reaching out to you at {company}"
        opening += f", given your team's work in {lead.industry}." if lead.industry else "."
        aside = "you probably see the day-to-day trade-offs first-hand."
    else:
        opening = rng.choice(
            (
                f'While reading about {company}, one detail stood out: "{quote}"',
                f'I came across this about {company}: "{quote}"',
            )
        )
        aside = "you will know better than anyone what that means for your team."
    if lead.title:
        opening += f" As {lead.title}, {aside}"
    pitch = sender.value_proposition or (
        f"At {sender.company}, we offer {sender.product}. It helps teams like yours at "
        f"{company} spend less time on plumbing and more on the work that moves the business."
    )
    signature = sender.signature or f"Best regards,\n{sender.name}\n{sender.company}"
    if sender.domain and rng.random() < 0.5:
        signature += f"\nhttps://{sender.domain}"
    greeting = f"Hi {lead.first_name}," if lead.first_name else "Hello,"
    paragraphs = (greeting, opening, pitch, rng.choice(_ASKS), signature, OPT_OUT)
    return "\n\n".join(paragraphs)


def _quotable(quote: str, notes: str) -> bool:
    """Whether a quote is safe to repeat: short, free of links, and no echo of the notes."""
    if len(quote) > _MAX_QUOTE or _URLISH.search(quote):
        return False
    note = notes.strip().casefold()
    return len(note) < 8 or (note not in quote.casefold() and quote.casefold() not in note)


def unsupported_number(data: Data, haystack: str, rng: random.Random) -> Data:
    """Add a statistic that appears nowhere in the inputs, nor likely in the evidence."""
    number = rng.randint(2_200, 9_800)
    for _ in range(64):
        if str(number) not in haystack and f"{number:,}" not in haystack:
            break
        number = rng.randint(2_200, 9_800)
    paragraphs = str(data.get("body", "")).split("\n\n")
    claim = f"Teams like yours usually save {number:,} hours of manual work a year."
    paragraphs.insert(min(2, len(paragraphs)), claim)
    return {**data, "body": "\n\n".join(paragraphs)}
