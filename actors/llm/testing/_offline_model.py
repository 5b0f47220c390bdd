"""A script that answers like a model: the offline engine, fed the prompt's data.

With it, ``FakeOpenAI`` is an OpenAI-compatible server that runs the whole pipeline, on
any structured-output rung: the stage is read from the data the prompt carries. By
default every model it serves is flawless; ``behaviours`` gives model names flaws of
their own, so a test can serve two models that differ, such as one that leaves
placeholders in a share of its drafts:

    script = OfflineModel(behaviours={"sloppy": Behaviour(placeholder_rate=0.3)})
    with FakeOpenAI(script, models=["careful", "sloppy"]) as server: ...
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, final

import anyio

from actors.llm._chaos import Data, fit_band, placeholder, seeded_random
from actors.llm._gateway import LlmRequest
from actors.llm._offline import OfflineLlm
from actors.llm.testing._responses import Response, completion
from messages import Stage, UsageError

MISSCORE_SHIFT = 35
"""How far a mis-scored lead's score lands from its ICP score: past the validator's
tolerance (25), so the score goes to a person."""


def stage_of(data: Mapping[str, Any]) -> Stage:
    """The stage a prompt's data is for: research has evidence, scoring an ICP score."""
    if "evidence" in data:
        return Stage.RESEARCH
    if "icp_score" in data:
        return Stage.SCORING
    return Stage.WRITING


_REJECTED = "Your previous answer was rejected."
"""How a prompt introduces the feedback of a re-ask (see ``actors.agents._prompts``)."""


@final
@dataclass(frozen=True, slots=True)
class Behaviour:
    """How one model served by ``OfflineModel`` errs.

    Each flaw is drawn per lead from a generator seeded by ``seed``, the model's name,
    the request's ``seed`` (which ``evaluate --repeat`` varies per repeat), the lead and
    the stage, so the same request always draws the same, and another repeat draws anew.
    """

    placeholder_rate: float = 0.0
    """Share of drafts left with an unfilled placeholder (``[Name]``, ``{{company}}``)."""
    misscore_rate: float = 0.0
    """Share of leads scored ``MISSCORE_SHIFT`` points away from their ICP score."""
    stubborn: bool = True
    """Whether a lead's flaw comes back when the model is asked again with feedback (a
    model's systematic weakness); if not, each attempt draws anew."""
    seed: int = 0
    """The injected randomness: another seed, other leads drawn."""

    def __post_init__(self) -> None:
        for name in ("placeholder_rate", "misscore_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise UsageError(f"{name}={rate!r} must be between 0 and 1")


@final
class OfflineModel:
    """``FakeOpenAI``'s script for a model that gets everything right (``imperfection_rate``
    0 by default), answering in the model name ``reply_model`` when given; a model named
    in ``behaviours`` makes the mistakes its ``Behaviour`` says.

    It answers as a function of the request, as a seeded model does: a re-ask (its
    prompt lists the problems to fix) is a later attempt, and another sampling ``seed``
    (an Operations retry moves it on, ``evaluate --repeat`` too) is another draw, so a
    retry can succeed where the call before it was flawed, while the same request always
    gets the same answer.
    """

    def __init__(
        self,
        *,
        imperfection_rate: float = 0.0,
        reply_model: str | None = None,
        behaviours: Mapping[str, Behaviour] | None = None,
    ) -> None:
        self.engine = OfflineLlm(seed=0, imperfection_rate=imperfection_rate)
        self.reply_model = reply_model
        self.behaviours = dict(behaviours or {})

    def __call__(self, body: Mapping[str, Any], number: int) -> Response:
        messages = [m for m in body.get("messages") or () if isinstance(m, Mapping)]
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next(m["content"] for m in messages if m.get("role") == "user")
        if "<data>" not in user:
            return completion("OK")  # a preflight's tiny call, before any lead
        data = json.loads(user.split("<data>\n", 1)[1].split("\n</data>", 1)[0])
        stage = stage_of(data)
        # Research is about a company alone: it names no lead.
        trace_id = str(
            data.get("lead", {}).get("lead_id") or data.get("company", {}).get("domain") or number
        )
        feedback = _feedback(user)
        attempt = 1 + user.count(_REJECTED)
        seed = body.get("seed")
        request = LlmRequest(
            stage=stage,
            schema_name=f"{stage.value}_reply",
            json_schema={},
            system=system,
            prompt=user,
            inputs=data,
            trace_id=trace_id,
            attempt=attempt,
            feedback=feedback,
            # Another sampling seed is another draw, as an Operations retry is.
            retry=seed if isinstance(seed, int) and seed > 0 else 0,
        )
        # The handler thread has no event loop of its own: run the engine in a fresh one.
        reply = anyio.run(self.engine.complete, request)
        text = reply.text
        behaviour = self.behaviours.get(str(body.get("model")))
        if behaviour is not None:
            text = _flawed(text, behaviour, body, data, stage, attempt)
        return completion(text, model=self.reply_model)


def _flawed(
    text: str,
    behaviour: Behaviour,
    body: Mapping[str, Any],
    data: Mapping[str, Any],
    stage: Stage,
    attempt: int,
) -> str:
    """``text`` with the flaw ``behaviour`` draws for this lead and stage, if any."""
    lead = data.get("lead", {})
    rng = seeded_random(
        "behaviour",
        behaviour.seed,
        body.get("model"),
        body.get("seed"),
        lead.get("lead_id"),
        stage,
        1 if behaviour.stubborn else attempt,
    )
    reply: Data = json.loads(text)
    match stage:
        case Stage.WRITING if rng.random() < behaviour.placeholder_rate:
            reply = placeholder(reply, lead, rng)
        case Stage.SCORING if rng.random() < behaviour.misscore_rate:
            icp = int(data["icp_score"])
            score = icp - MISSCORE_SHIFT if icp >= 50 else icp + MISSCORE_SHIFT
            thresholds = data.get("thresholds", {})
            band = fit_band(
                score,
                high=int(thresholds.get("high", 70)),
                medium=int(thresholds.get("medium", 40)),
            )
            reply = {**reply, "score": score, "fit": band}
        case _:
            return text
    return json.dumps(reply, ensure_ascii=False)


def _feedback(prompt: str) -> tuple[str, ...]:
    """The problems a re-ask's prompt lists after ``_REJECTED``, one per line."""
    _, marker, fixes = prompt.partition(_REJECTED)
    if not marker:
        return ()
    return tuple(line.removeprefix("- ") for line in fixes.splitlines() if line.startswith("- "))
