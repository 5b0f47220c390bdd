"""Fault injection: a gateway wrapper that fails the way real providers and models do.

``ChaosLlm`` wraps any ``LlmGateway``. For each call it draws, from a seed, whether to
inject a fault and which one. Transport faults raise before the inner gateway is called;
format faults replace the inner reply's text; semantic faults parse the inner reply,
corrupt its meaning, and serialise it again, so only the validator can catch them.

The semantic corruptions are plain functions, shared with the offline engine, whose
imperfect outputs are the same flaws at a lower rate.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial
from types import MappingProxyType
from typing import Any, Final, assert_never, final

from actors.llm._gateway import LlmGateway, LlmReply, LlmRequest, NamesItsModel
from actors.llm._tokens import estimate_tokens
from messages import LlmTimeout, ProviderError, RateLimited, Stage, UsageError

Data = dict[str, Any]

ADVISED_PAUSE_S: tuple[float, float] = (0.05, 0.5)
"""The range of the pause an injected rate limit advises, in seconds. Read at each call:
the tests shorten it for the session, as they shorten stamina's backoff, so that a
chaotic run in a fixture does not wait out real pauses."""


class Fault(StrEnum):
    """A fault that ``ChaosLlm`` can inject."""

    TIMEOUT = "timeout"
    """Raise ``LlmTimeout`` at once, without calling the inner gateway."""
    RATE_LIMIT = "rate_limit"
    """Raise ``RateLimited`` with a seeded ``retry_after`` within ``ADVISED_PAUSE_S``."""
    SERVER_ERROR = "server_error"
    """Raise ``ProviderError``, as for an HTTP 5xx."""
    TRUNCATED_JSON = "truncated_json"
    """Cut the inner reply's text in the middle, with ``finish_reason="length"``."""
    PROSE = "prose"
    """Replace the inner reply's text with an English sentence instead of JSON."""
    SCHEMA_VIOLATION = "schema_violation"
    """Replace it with valid JSON that breaks the stage's schema: a missing field, a wrong
    type, or a value out of range."""
    UNGROUNDED_CLAIM = "ungrounded_claim"
    """Research only: a claim quotes text that is in none of the evidence."""
    PLACEHOLDER = "placeholder"
    """Writing only: the draft keeps an unfilled placeholder such as ``{{first_name}}``."""
    INCONSISTENT_SCORE = "inconsistent_score"
    """Scoring only: the fit band disagrees with the score."""


_ONLY_FOR: Final[Mapping[Fault, Stage]] = MappingProxyType(
    {
        Fault.UNGROUNDED_CLAIM: Stage.RESEARCH,
        Fault.PLACEHOLDER: Stage.WRITING,
        Fault.INCONSISTENT_SCORE: Stage.SCORING,
    }
)


def applies(fault: Fault, stage: Stage) -> bool:
    """Whether ``fault`` can be injected into a call of ``stage``."""
    only = _ONLY_FOR.get(fault)
    return only is None or only is stage


def seeded_random(*parts: object) -> random.Random:
    """A generator seeded by a stable hash of ``parts``, the same in every process."""
    key = "\x1f".join(str(part) for part in parts).encode()
    return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))


def fit_band(score: int, *, high: int, medium: int) -> str:
    """The fit band (``high``, ``medium`` or ``low``) of a 0-100 score."""
    if score >= high:
        return "high"
    return "medium" if score >= medium else "low"


# -- semantic corruptions: valid JSON of the right shape, wrong in meaning -------------------

_FABRICATIONS = (
    "Doubled its annual revenue last year.",
    "Is preparing an initial public offering.",
    "Was named a market leader by a major analyst firm.",
    "Recently acquired its largest competitor.",
)


def ungrounded_claim(data: Data, evidence: Sequence[Mapping[str, Any]], rng: random.Random) -> Data:
    """Make one claim quote a sentence that appears in none of the evidence."""
    texts = [str(item.get("text", "")) for item in evidence]
    fabricated = rng.choice(_FABRICATIONS)
    while any(fabricated in text for text in texts):
        fabricated += " Reportedly."
    claims = [dict(claim) for claim in _claims(data)]
    ids = [str(item.get("evidence_id")) for item in evidence] or ["e1"]
    claim = {
        "text": f"The company states: {fabricated}",
        "evidence_ids": ids[:1],
        "quote": fabricated,
    }
    if claims:
        index = rng.randrange(len(claims))
        claims[index] = {**claim, "evidence_ids": claims[index].get("evidence_ids") or ids[:1]}
    else:
        claims.append(claim)
    return {**data, "claims": claims}


def unknown_evidence(data: Data, evidence: Sequence[Mapping[str, Any]], rng: random.Random) -> Data:
    """Make one claim cite an evidence id that does not exist."""
    claims = [dict(claim) for claim in _claims(data)]
    if not claims:
        return ungrounded_claim(data, evidence, rng)
    known = {str(item.get("evidence_id")) for item in evidence}
    number = len(known) + rng.randint(5, 50)
    while f"e{number}" in known:
        number += 1
    claims[rng.randrange(len(claims))]["evidence_ids"] = [f"e{number}"]
    return {**data, "claims": claims}


def inconsistent_fit(data: Data, thresholds: Mapping[str, Any], rng: random.Random) -> Data:
    """Set a fit band that disagrees with the score."""
    score = data.get("score")
    high, medium = int(thresholds.get("high", 70)), int(thresholds.get("medium", 40))
    band = fit_band(score, high=high, medium=medium) if isinstance(score, int) else "high"
    return {**data, "fit": rng.choice([fit for fit in ("high", "medium", "low") if fit != band])}


_PLACEHOLDERS = (
    ("{{first_name}}", "first_name"),
    ("[First Name]", "first_name"),
    ("[Company]", "company"),
    ("<company>", "company"),
    ("{{company}}", "company"),
)


def placeholder(data: Data, lead: Mapping[str, Any], rng: random.Random) -> Data:
    """Leave an unfilled placeholder where the first name or the company belongs."""
    token, field = rng.choice(_PLACEHOLDERS)
    target = str(lead.get(field, ""))
    body = str(data.get("body", ""))
    body = body.replace(target, token, 1) if target and target in body else f"Hi {token},\n\n{body}"
    return {**data, "body": body}


def _claims(data: Data) -> list[Mapping[str, Any]]:
    claims = data.get("claims")
    if not isinstance(claims, list):
        return []
    return [claim for claim in claims if isinstance(claim, Mapping)]


# -- format faults ---------------------------------------------------------------------------

_PROSE = (
    "I'm sorry, but I can't help with that request.",
    "Sure! Here is what I found: the company looks like a strong fit and worth a call soon.",
    "As an AI language model, I cannot answer in the requested format.",
    "The analysis is complete. Let me know if you would like anything else.",
)

_Violation = Callable[[Data], Data]

_VIOLATIONS: Final[Mapping[Stage, tuple[_Violation, ...]]] = MappingProxyType(
    {
        Stage.RESEARCH: (
            lambda d: {k: v for k, v in d.items() if k != "claims"},
            lambda d: {**d, "summary": None},
            lambda d: {**d, "claims": "none found"},
            lambda d: {**d, "claims": [{"text": "An uncited claim."}]},
        ),
        Stage.SCORING: (
            lambda d: {k: v for k, v in d.items() if k != "fit"},
            lambda d: {**d, "score": "very high"},
            lambda d: {**d, "score": 140},
            lambda d: {**d, "confidence": 1.7},
            lambda d: {**d, "fit": "excellent"},
        ),
        Stage.WRITING: (
            lambda d: {k: v for k, v in d.items() if k != "body"},
            lambda d: {**d, "subject": None},
            lambda d: {**d, "body": ""},
            lambda d: {**d, "signature": ["not", "in", "the", "schema"]},
        ),
    }
)


def _load(text: str) -> Data | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# -- the wrapper -----------------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class ChaosStatistics:
    """A snapshot of what a ``ChaosLlm`` did."""

    calls: int
    """Calls received, injected or not."""
    injected: Mapping[Fault, int]
    """Faults injected, per configured fault."""

    @property
    def injected_total(self) -> int:
        """Faults injected, of every kind."""
        return sum(self.injected.values())


_MAX_TRACKED_CALLS = 65_536
"""Call counters kept; the least recently used go first, so memory stays flat on long runs."""


@final
class ChaosLlm:
    """Wrap a gateway and inject faults into a seeded fraction of its calls.

    The draw for a call depends on the seed, the request's trace id, stage and attempt,
    its Operations retry, and how often that same call was made before in this process,
    so that a retried call gets a fresh draw, also in another process (an operator's
    retry), while a fresh run with the same seed repeats itself.
    Only faults that apply to the call's stage are drawn.
    """

    def __init__(
        self,
        inner: LlmGateway,
        *,
        rate: float,
        seed: int = 0,
        faults: Sequence[Fault] | None = None,
    ) -> None:
        if not callable(getattr(inner, "complete", None)):
            raise UsageError(f"inner={inner!r} is not an LlmGateway; pass one with complete()")
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise UsageError(f"rate={rate!r} must be a number between 0 and 1")
        if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
            raise UsageError(f"rate={rate!r} must be between 0 and 1")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise UsageError(f"seed={seed!r} must be an int")
        self._inner = inner
        self._rate = float(rate)
        self._seed = seed
        self._faults = tuple(Fault) if faults is None else _checked_faults(faults)
        self._calls = 0
        self._injected = dict.fromkeys(self._faults, 0)
        self._counters: OrderedDict[tuple[str, Stage, int, int], int] = OrderedDict()

    def statistics(self) -> ChaosStatistics:
        """A snapshot of the calls seen and the faults injected so far."""
        return ChaosStatistics(calls=self._calls, injected=MappingProxyType(dict(self._injected)))

    @property
    def provider_name(self) -> str:
        inner = self._inner
        return inner.provider_name if isinstance(inner, NamesItsModel) else "unknown"

    @property
    def model_name(self) -> str:
        inner = self._inner
        return inner.model_name if isinstance(inner, NamesItsModel) else "unknown"

    @property
    def inner(self) -> LlmGateway:
        """The gateway it wraps."""
        return self._inner

    async def aclose(self) -> None:
        """Close the gateway it wraps."""
        await self._inner.aclose()

    async def complete(self, request: LlmRequest) -> LlmReply:
        """Answer through the inner gateway, or inject the fault drawn for this call."""
        self._calls += 1
        drawn = self._draw(request)
        if drawn is None:
            return await self._inner.complete(request)
        fault, rng = drawn
        match fault:
            case Fault.TIMEOUT:
                self._injected[fault] += 1
                raise LlmTimeout(f"No reply within {request.timeout:g} s (injected by chaos).")
            case Fault.RATE_LIMIT:
                self._injected[fault] += 1
                retry_after = round(rng.uniform(*ADVISED_PAUSE_S), 3)
                raise RateLimited(
                    f"Rate limit reached; retry after {retry_after:g} s (injected by chaos).",
                    retry_after=retry_after,
                )
            case Fault.SERVER_ERROR:
                self._injected[fault] += 1
                status = rng.choice((500, 502, 503))
                raise ProviderError(f"The provider answered HTTP {status} (injected by chaos).")
            case _:
                reply = await self._inner.complete(request)
                text = self._corrupt(fault, reply.text, request, rng)
                if text is None:
                    return reply
                self._injected[fault] += 1
                return replace(
                    reply,
                    text=text,
                    completion_tokens=estimate_tokens(text),
                    finish_reason="length"
                    if fault is Fault.TRUNCATED_JSON
                    else reply.finish_reason,
                    extra={**reply.extra, "chaos": fault.value},
                )

    def _draw(self, request: LlmRequest) -> tuple[Fault, random.Random] | None:
        if self._rate == 0.0:
            return None
        key = (request.trace_id, request.stage, request.attempt, request.retry)
        count = self._counters.pop(key, 0)
        self._counters[key] = count + 1
        if len(self._counters) > _MAX_TRACKED_CALLS:
            self._counters.popitem(last=False)
        # A first pass draws exactly as before retries existed: the same seed, the same run.
        retried = () if request.retry == 0 else ("retry", request.retry)
        rng = seeded_random("chaos", self._seed, *key[:3], count, *retried)
        if rng.random() >= self._rate:
            return None
        candidates = [fault for fault in self._faults if applies(fault, request.stage)]
        return (rng.choice(candidates), rng) if candidates else None

    def _corrupt(
        self, fault: Fault, text: str, request: LlmRequest, rng: random.Random
    ) -> str | None:
        """The corrupted text, or ``None`` when the inner reply has nothing to corrupt."""
        inputs = request.inputs
        corrupt: Callable[[Data], Data]
        match fault:
            case Fault.TIMEOUT | Fault.RATE_LIMIT | Fault.SERVER_ERROR:
                raise AssertionError(f"{fault} raises instead of replying")
            case Fault.TRUNCATED_JSON:
                if len(text) < 2:
                    return None
                return text[: rng.randint(max(1, len(text) // 4), max(1, 3 * len(text) // 4))]
            case Fault.PROSE:
                return rng.choice(_PROSE)
            case Fault.SCHEMA_VIOLATION:
                corrupt = rng.choice(_VIOLATIONS[request.stage])
            case Fault.UNGROUNDED_CLAIM:
                corrupt = partial(ungrounded_claim, evidence=inputs.get("evidence", ()), rng=rng)
            case Fault.INCONSISTENT_SCORE:
                corrupt = partial(
                    inconsistent_fit, thresholds=inputs.get("thresholds", {}), rng=rng
                )
            case Fault.PLACEHOLDER:
                corrupt = partial(placeholder, lead=inputs.get("lead", {}), rng=rng)
            case _:
                assert_never(fault)
        data = _load(text)
        return None if data is None else json.dumps(corrupt(data), ensure_ascii=False)


def _checked_faults(faults: Sequence[Fault]) -> tuple[Fault, ...]:
    if isinstance(faults, str):
        raise UsageError(
            f"faults={faults!r} must be a sequence of Fault, not a string; pass [Fault({faults!r})]"
        )
    checked: list[Fault] = []
    for fault in faults:
        try:
            value = Fault(fault)
        except ValueError:
            choices = ", ".join(f.value for f in Fault)
            raise UsageError(
                f"faults contains {fault!r}, which is no Fault; use: {choices}"
            ) from None
        if value not in checked:
            checked.append(value)
    if not checked:
        raise UsageError(
            f"faults={faults!r} is empty; pass None for every fault, or name at least one"
        )
    return tuple(checked)
