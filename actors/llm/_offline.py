"""The offline engine: a deterministic LLM that needs no network and no key.

It reads a request's ``inputs`` (never its prose prompt) and writes what a careful model
would: research that quotes the evidence verbatim, a score near the ICP prior, and a short
draft built only from the research. Lead notes are data: it never reads them. At a seeded
rate it makes the mistakes real models make, so the validator has work to do.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from typing import TypeVar, assert_never, final

import anyio
from pydantic import BaseModel, ConfigDict, ValidationError

from actors.intake import SeniorityScale
from actors.llm._chaos import (
    Data,
    fit_band,
    inconsistent_fit,
    placeholder,
    seeded_random,
    ungrounded_claim,
    unknown_evidence,
)
from actors.llm._gateway import LlmReply, LlmRequest
from actors.llm._tokens import estimate_tokens
from messages import Lead, LlmTimeout, Stage, UsageError

# -- what the engine reads from ``LlmRequest.inputs`` --------------------------------------


class _Inputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Evidence(_Inputs):
    evidence_id: str
    source: str = ""
    text: str


class _Claim(_Inputs):
    text: str
    evidence_ids: tuple[str, ...] = ()
    quote: str


class _Research(_Inputs):
    summary: str = ""
    claims: tuple[_Claim, ...] = ()
    facts: tuple[str, ...] = ()
    """The claims' quotes, as the writing prompt gives them."""

    @property
    def quotes(self) -> tuple[str, ...]:
        return self.facts or tuple(claim.quote for claim in self.claims)


class _Thresholds(_Inputs):
    high: int = 70
    medium: int = 40


class _Sender(_Inputs):
    company: str
    domain: str
    name: str
    product: str = ""
    value_proposition: str = ""
    signature: str = ""


class _Lead(_Inputs):
    """The fields of a lead a stage's prompt gives (a prompt leaves out those it does not
    need, and those the row left empty)."""

    lead_id: str = "lead"
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    title: str = ""
    company: str = ""
    domain: str = ""
    industry: str = ""
    employees: int | None = None
    employees_max: int | None = None
    country: str = ""
    notes: str = ""

    def as_lead(self) -> Lead:
        return Lead(record=1, **self.model_dump())


class _Company(_Inputs):
    name: str = ""
    domain: str = ""


class _ResearchInputs(_Inputs):
    company: _Company = _Company()
    lead: _Lead | None = None
    """What an older prompt sent instead of the company."""
    evidence: tuple[_Evidence, ...] = ()

    @property
    def company_name(self) -> str:
        name = self.company.name or (self.lead.company if self.lead is not None else "")
        return name or self.company.domain or "The company"


class _ScoringInputs(_Inputs):
    lead: _Lead
    icp_score: int
    thresholds: _Thresholds = _Thresholds()


class _WritingInputs(_Inputs):
    lead: _Lead
    research: _Research
    sender: _Sender


_T = TypeVar("_T", bound=_Inputs)


# -- the engine ----------------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class OfflineStatistics:
    """A snapshot of what an ``OfflineLlm`` answered."""

    calls: int
    imperfect: int
    """Replies with a deliberate flaw for the validator to catch."""


@final
class OfflineLlm:
    """A deterministic engine that answers every stage from the request's inputs.

    The same seed, trace id (for research: company domain), stage, attempt and retry
    always give the same reply. With
    probability ``imperfection_rate`` a first attempt carries one realistic flaw; a re-ask
    (a later attempt, or one with feedback) is flawed a third as often.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        latency_ms: float = 0.0,
        imperfection_rate: float = 0.06,
        model: str = "offline-1",
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise UsageError(f"seed={seed!r} must be an int")
        if not (isinstance(latency_ms, int | float) and math.isfinite(latency_ms)) or (
            latency_ms < 0
        ):
            raise UsageError(f"latency_ms={latency_ms!r} must be a finite number >= 0")
        if not (isinstance(imperfection_rate, int | float) and 0 <= imperfection_rate <= 1):
            raise UsageError(f"imperfection_rate={imperfection_rate!r} must be between 0 and 1")
        if not model:
            raise UsageError(f"model={model!r} is empty; name the model, such as 'offline-1'")
        self._seed = seed
        self._latency_s = latency_ms / 1000
        self._rate = float(imperfection_rate)
        self._model = model
        self._calls = 0
        self._imperfect = 0

    inner = None
    """A backend: it wraps no gateway."""

    @property
    def provider_name(self) -> str:
        return "leadwright.offline"

    @property
    def model_name(self) -> str:
        return self._model

    def statistics(self) -> OfflineStatistics:
        """A snapshot of the calls answered so far."""
        return OfflineStatistics(calls=self._calls, imperfect=self._imperfect)

    async def aclose(self) -> None:
        """Nothing to release: the engine holds no connection and no model."""

    async def complete(self, request: LlmRequest) -> LlmReply:
        """Answer after the simulated latency, or time out when it exceeds the deadline."""
        if self._latency_s > 0:
            if self._latency_s > request.timeout:
                await anyio.sleep(request.timeout)
                raise LlmTimeout(
                    f"The offline engine's latency of {self._latency_s:g} s exceeds the "
                    f"call's timeout of {request.timeout:g} s."
                )
            await anyio.sleep(self._latency_s)
        retried = () if request.retry == 0 else ("retry", request.retry)
        rng = seeded_random(
            "offline", self._seed, _subject(request), request.stage, request.attempt, *retried
        )
        rate = self._rate if request.attempt <= 1 and not request.feedback else self._rate / 3
        flawed = rng.random() < rate
        data, flaw = _answer(request, rng, flawed=flawed)
        text = json.dumps(data, ensure_ascii=False)
        self._calls += 1
        self._imperfect += flaw is not None
        return LlmReply(
            text=text,
            model=request.model or self._model,
            prompt_tokens=estimate_tokens(request.system + request.prompt),
            completion_tokens=estimate_tokens(text),
            latency_s=self._latency_s,
            extra={} if flaw is None else {"imperfection": flaw},
        )


def _subject(request: LlmRequest) -> str:
    """What a reply is about, which seeds it: the lead, or for research its company (the
    same evidence of a company gives the same research, whichever lead asked)."""
    if request.stage is Stage.RESEARCH:
        company = request.inputs.get("company")
        if isinstance(company, dict) and company.get("domain"):
            return f"company:{company['domain']}"
    return request.trace_id


def _answer(request: LlmRequest, rng: random.Random, *, flawed: bool) -> tuple[Data, str | None]:
    """The reply's data, and the name of the flaw put in it, if any."""
    stage = request.stage
    match stage:
        case Stage.RESEARCH:
            research = _parse(_ResearchInputs, request)
            data = _research(research, rng)
            evidence = request.inputs.get("evidence", ())
            if not flawed:
                return data, None
            if data["claims"] and rng.random() < 0.5:
                return unknown_evidence(data, evidence, rng), "unknown_evidence"
            return ungrounded_claim(data, evidence, rng), "ungrounded_claim"
        case Stage.SCORING:
            scoring = _parse(_ScoringInputs, request)
            data = _score(scoring, rng)
            if not flawed:
                return data, None
            thresholds = scoring.thresholds.model_dump()
            return inconsistent_fit(data, thresholds, rng), "inconsistent_score"
        case Stage.WRITING:
            writing = _parse(_WritingInputs, request)
            data = _draft(writing, rng)
            if not flawed:
                return data, None
            if rng.random() < 0.5:
                return placeholder(data, request.inputs["lead"], rng), "placeholder"
            haystack = json.dumps(request.inputs, ensure_ascii=False)
            return _unsupported_number(data, haystack, rng), "unsupported_number"
        case _:
            assert_never(stage)


def _parse(model: type[_T], request: LlmRequest) -> _T:
    try:
        return model.model_validate(dict(request.inputs), strict=False)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise UsageError(
            f"inputs[{where!r}] of the {request.stage} request: {error['msg']}; "
            f"build the inputs as actors/agents/_prompts.py does"
        ) from None


# -- research ------------------------------------------------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
_MAX_QUOTE = 240
_WORD = re.compile(r"[^\W\d_]{3}")
"""A run of three letters: what makes a sentence worth quoting."""


def _research(inputs: _ResearchInputs, rng: random.Random) -> Data:
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


# -- scoring -------------------------------------------------------------------------------

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


def _score(inputs: _ScoringInputs, rng: random.Random) -> Data:
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


# -- writing -------------------------------------------------------------------------------

OPT_OUT = 'If you\'d rather not hear from me, just reply "unsubscribe".'
"""The opt-out line that ends every draft."""

_MAX_BODY = 1200
_URLISH = re.compile(r"://|www\.|@|\.(?:com|net|org|io|ai|co|de|uk|fr|es|it|nl|eu|app|dev)\b", re.I)
_ASKS = (
    "Would you be open to a short call next week to see whether it could help?",
    "If this sounds relevant, could we find a quick slot next week to compare notes?",
)


def _draft(inputs: _WritingInputs, rng: random.Random) -> Data:
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


def _body(lead: Lead, sender: _Sender, quote: str | None, rng: random.Random) -> str:
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


def _unsupported_number(data: Data, haystack: str, rng: random.Random) -> Data:
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
