"""Draft source rules: every number comes from the research, every link from a known domain."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping

from actors.validation._context import RuleContext
from actors.validation._links import find_links, within, without_links
from actors.validation._rule import rule
from actors.validation._text import show
from messages import OutreachDraft

_NUMBER = re.compile(
    r"""
    (?:[$€£¥]\s?)?                        # a currency sign: $40M
    (?<!\w)(?<!\w[.,])                     # not glued to a word: B2B, Q3 and v2 are names
    (?P<value>\d+(?:[.,]\d+)*)
    (?:\s?%|(?:k|m|bn?|million|billion)\b)?  # a percentage or a scale: 12%, $40M, 3bn
    """,
    re.VERBOSE | re.IGNORECASE,
)


_DIGIT = re.compile(r"\d")


@functools.lru_cache(maxsize=4096)
def _numbers(text: str) -> Mapping[str, str]:
    """Every number in ``text`` outside links and email addresses: canonical -> as written.

    Cached: the same evidence texts come back for every lead at one company.
    """
    found: dict[str, str] = {}
    if not _DIGIT.search(text):
        return found
    for match in _NUMBER.finditer(without_links(text)):
        found.setdefault(_canonical(match.group("value")), match.group().strip())
    return found


def _canonical(value: str) -> str:
    """One spelling per number: no thousands commas, leading or trailing zeros."""
    value = value.replace(",", "")
    whole, _, fraction = value.partition(".")
    if "." in fraction:
        return value
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


@rule("draft.unsupported_fact")
def numbers_from_research(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """Every number in the subject or body appears in the research, the lead or what the
    sender says of itself.

    The research here is the claims' texts and quotes and the evidence texts; the lead is
    its firmographic fields; the sender's words are its value proposition and signature.
    The summary (LLM-written) and the notes (untrusted data) are not sources. Numbers
    match by value, so ``1,200`` is ``1200`` and ``$40M`` is ``40``.
    """
    research = draft.score.research
    lead = draft.lead
    sources = [item.text for item in research.evidence]
    sources += [text for claim in research.claims for text in (claim.text, claim.quote)]
    sources += [lead.first_name, lead.last_name, lead.title, lead.company, lead.domain]
    sources += [lead.industry, lead.employees_text, lead.country, ctx.sender_text]
    known = {value for source in sources for value in _numbers(source)}
    for field, text in (("subject", draft.subject), ("body", draft.body)):
        for value, written in _numbers(text).items():
            if value not in known:
                yield (
                    f"The {field} states {show(written)}, which appears nowhere in the "
                    "research or the lead; use only numbers from the research."
                )


@rule("draft.foreign_link")
def links_allowed(draft: OutreachDraft, ctx: RuleContext) -> Iterator[str]:
    """Every link in the subject or body goes to the lead's or the sender's domain, or to
    one of the draft policy's ``link_domains``.

    Subdomains of those are allowed. The lead's domain is its email's, whatever its
    ``domain`` column said (for an email at a personal mailbox provider, the row's domain
    or website, or none). Links are URLs (their host as a browser parses it),
    ``mailto:`` addresses, ``www.`` hosts and bare domains whose ending is a top-level
    domain (see ``_links``); email addresses without ``mailto:`` are not links.
    """
    domains = (draft.lead.domain, ctx.sender_domain, *ctx.link_domains)
    allowed = " or ".join(show(d) for d in domains if d.strip()) or "no domain"
    for field, text in (("subject", draft.subject), ("body", draft.body)):
        for link in find_links(text):
            if not any(within(link.host, domain) for domain in domains):
                yield (
                    f"The {field} links to {show(link.text)}, outside {allowed}; remove the link."
                )
