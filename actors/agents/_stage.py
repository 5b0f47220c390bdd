"""The shared life of an LLM stage: ask, parse, re-ask with feedback, or hand the lead on."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import replace
from typing import Any, ClassVar, Generic, TypeVar, Unpack

from pydantic import BaseModel

from actors.agents._prompts import DEFAULT_PROMPTS, Prompts, prompt_version
from actors.llm import LlmCaller, LlmRequest, ProviderDown, parse_reply
from actors.runtime import Actor, ActorOptions, Context
from messages import (
    POLICIES,
    STAGE_ATTEMPTS,
    AuthFailed,
    DeadLetter,
    Envelope,
    FailureKind,
    Lead,
    LeadScore,
    LlmTimeout,
    MalformedReply,
    Message,
    OutreachDraft,
    ProviderError,
    QuotaExhausted,
    ResearchResult,
    RetryRequested,
    RunHalted,
    SchemaMismatch,
    Stage,
    ValidationFailed,
    Verdict,
    redact,
)

In = TypeVar("In", bound=Message)
Basis = TypeVar("Basis")

_MALFORMED_ATTEMPTS = POLICIES[FailureKind.MALFORMED_OUTPUT].max_attempts or 1
RAW_REPLY_LIMIT = 8_000
"""Characters of a reply an output keeps as its ``raw_reply``; the rest is cut, and said so."""


class StageOptions(ActorOptions, total=False):
    """An LLM stage's options: an actor's, the deadline of one call, and the prompts."""

    timeout: float
    prompts: Prompts


class LlmStage(Actor[In], Generic[In, Basis]):
    """An actor that turns a *basis* (its validated input) into one probabilistic output.

    Subclasses say how to build the request and assemble the output; this class owns
    the failure paths of the taxonomy. Machine failures go to Operations, as a dead letter
    whose payload is the ``RetryRequested`` that runs the step again: a malformed reply
    after one re-ask (with its raw text), a schema mismatch after the stage's attempt
    budget, a timeout or provider error that outlived the caller's retries. Quota and
    auth failures, and a provider down past the caller's breaker limit, halt the run. A
    ``ValidationFailed`` with verdict ``retry`` for this stage starts the next attempt
    with the violations as feedback; a ``RetryRequested`` for it starts a new pass.
    """

    stage: ClassVar[Stage]

    def __init__(
        self,
        caller: LlmCaller,
        *,
        timeout: float = 30.0,
        prompts: Prompts = DEFAULT_PROMPTS,
        **options: Unpack[ActorOptions],
    ) -> None:
        super().__init__(**options)
        self.caller = caller
        self.timeout = timeout
        self.prompts = prompts

    @abstractmethod
    def request(self, basis: Basis, *, attempt: int, feedback: tuple[str, ...]) -> LlmRequest:
        """The request for one attempt."""

    @abstractmethod
    def assemble(self, basis: Basis, reply: BaseModel) -> Message:
        """The probabilistic output built from the basis and the parsed reply."""

    @abstractmethod
    def lead_of(self, basis: Basis) -> Lead: ...

    @abstractmethod
    def stage_input(self, basis: Basis) -> ResearchResult | LeadScore | None:
        """The approved output the basis came from, kept with a review for resuming."""

    @abstractmethod
    def basis_from_rejected(self, failed: ValidationFailed) -> Basis:
        """Rebuild the basis from an output the validator sent back."""

    async def retry_rejected(self, ctx: Context[Any], failed: ValidationFailed) -> None:
        """Handle a verdict: only this stage's retries concern this actor."""
        if failed.stage is not self.stage or failed.verdict is not Verdict.RETRY:
            return
        feedback = tuple(f"[{v.rule}] {v.reason}" for v in failed.violations)
        await self.produce(
            ctx,
            self.basis_from_rejected(failed),
            attempt=failed.attempt + 1,
            feedback=feedback,
            retry=failed.rejected.retry,
        )

    async def produce(
        self,
        ctx: Context[Any],
        basis: Basis,
        *,
        attempt: int = 1,
        feedback: tuple[str, ...] = (),
        retry: int = 0,
    ) -> None:
        """Ask until a well-formed output is published, or the lead takes a failure path.

        ``retry`` is the Operations retry this pass belongs to: its calls and its output
        carry it, so that faults are drawn anew and later re-asks stay in the same pass.
        """
        malformed = 0
        answered = False
        while True:
            try:
                request = self.request(basis, attempt=attempt, feedback=feedback)
                if retry:
                    request = replace(request, retry=retry)
                # A rate limit may hand the message back (on a shared bus) only before a
                # call was answered: running the handler again must not repeat a paid call.
                reply = await self.caller.call(request, log=ctx.log, may_defer=not answered)
                answered = True
                # A reply is untrusted text that may echo a secret: none goes further.
                text = redact(reply.text)
                if text != reply.text:
                    reply = replace(reply, text=text)
                parsed = parse_reply(self.stage, reply)
            except MalformedReply as exc:
                malformed += 1
                # The raw text is kept: it is what an operator needs to see what went wrong.
                ctx.log.warning(
                    "malformed_output", stage=self.stage.value, attempt=attempt, raw=exc.raw[:2000]
                )
                if malformed >= _MALFORMED_ATTEMPTS:
                    await self._to_operations(ctx, basis, exc, attempt, retry, raw=exc.raw)
                    return
                feedback = (f"Your reply was unusable: {exc} Reply with exactly one JSON object.",)
            except SchemaMismatch as exc:
                ctx.log.warning(
                    "schema_mismatch", stage=self.stage.value, attempt=attempt, errors=exc.errors
                )
                if attempt >= STAGE_ATTEMPTS:
                    await self._to_operations(ctx, basis, exc, attempt, retry, raw=exc.raw)
                    return
                feedback = exc.errors
            except (LlmTimeout, ProviderError) as exc:
                await self._to_operations(ctx, basis, exc, attempt, retry)
                return
            except (QuotaExhausted, AuthFailed, ProviderDown) as exc:
                reason = redact(str(exc))
                ctx.log.error("run_halted", failure=exc.failure.value, reason=reason)
                await ctx.publish(RunHalted(failure=exc.failure, reason=reason))
                return
            else:
                output = with_raw_reply(self.assemble(basis, parsed), reply.text)
                # Which prompt made it: the version of the system prompt this call sent;
                # and which of Operations' retries, so that its faults were drawn anew.
                update: dict[str, object] = {"prompt": prompt_version(self.stage, request.system)}
                if retry:
                    update["retry"] = retry
                output = output.model_copy(update=update)
                await ctx.publish(output, attempt=attempt)
                return
            attempt += 1

    async def _to_operations(
        self,
        ctx: Context[Any],
        basis: Basis,
        exc: MalformedReply | SchemaMismatch | LlmTimeout | ProviderError,
        attempt: int,
        retry: int,
        *,
        raw: str | None = None,
    ) -> None:
        """A machine failure: a dead letter, whose payload runs this step again as the
        lead's next retry, from the same approved input."""
        lead = self.lead_of(basis)
        again = RetryRequested(
            stage=self.stage, lead=lead, start=self.stage_input(basis), retry=retry + 1
        )
        payload = Envelope.new(again, producer=self.name, trace_id=lead.lead_id)
        letter = DeadLetter(
            failure=exc.failure,
            reason=redact(f"{self.stage.value}: {exc}"),
            actor=self.name,
            payload=redact(payload.to_json()),
            attempts=attempt,
            raw_output=None if raw is None else redact(raw),
        )
        await ctx.publish(letter, attempt=attempt)


def with_raw_reply(output: Message, raw: str) -> Message:
    """``output`` carrying the (redacted) reply it was parsed from, capped, so that a
    reviewer sees what the model said; the copies of earlier stages' outputs inside it
    drop theirs, so that a lead's journal keeps each reply once, not once per stage."""
    if len(raw) > RAW_REPLY_LIMIT:
        raw = f"{raw[:RAW_REPLY_LIMIT]}\n[{len(raw) - RAW_REPLY_LIMIT} more characters cut]"
    match output:
        case ResearchResult():
            return output.model_copy(update={"raw_reply": raw})
        case LeadScore():
            return output.model_copy(
                update={"raw_reply": raw, "research": _bare_research(output.research)}
            )
        case OutreachDraft():
            return output.model_copy(update={"raw_reply": raw, "score": _bare_score(output.score)})
        case _:
            return output


def _bare_research(research: ResearchResult) -> ResearchResult:
    return research.model_copy(update={"raw_reply": None}) if research.raw_reply else research


def _bare_score(score: LeadScore) -> LeadScore:
    """``score`` without its raw reply, nor that of the research inside it."""
    return score.model_copy(update={"raw_reply": None, "research": _bare_research(score.research)})
