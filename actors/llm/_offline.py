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
from dataclasses import dataclass
from typing import TypeVar, assert_never, final

import anyio
from pydantic import ValidationError

from actors.llm._chaos import (
    Data,
    inconsistent_fit,
    placeholder,
    seeded_random,
    ungrounded_claim,
    unknown_evidence,
)
from actors.llm._gateway import LlmReply, LlmRequest
from actors.llm._offline_answers import draft_reply, research_reply, score_reply, unsupported_number
from actors.llm._offline_inputs import Inputs, ResearchInputs, ScoringInputs, WritingInputs
from actors.llm._tokens import estimate_tokens
from messages import LlmTimeout, Stage, UsageError

_T = TypeVar("_T", bound=Inputs)


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
            research = _parse(ResearchInputs, request)
            data = research_reply(research, rng)
            evidence = request.inputs.get("evidence", ())
            if not flawed:
                return data, None
            if data["claims"] and rng.random() < 0.5:
                return unknown_evidence(data, evidence, rng), "unknown_evidence"
            return ungrounded_claim(data, evidence, rng), "ungrounded_claim"
        case Stage.SCORING:
            scoring = _parse(ScoringInputs, request)
            data = score_reply(scoring, rng)
            if not flawed:
                return data, None
            thresholds = scoring.thresholds.model_dump()
            return inconsistent_fit(data, thresholds, rng), "inconsistent_score"
        case Stage.WRITING:
            writing = _parse(WritingInputs, request)
            data = draft_reply(writing, rng)
            if not flawed:
                return data, None
            if rng.random() < 0.5:
                return placeholder(data, request.inputs["lead"], rng), "placeholder"
            haystack = json.dumps(request.inputs, ensure_ascii=False)
            return unsupported_number(data, haystack, rng), "unsupported_number"
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
