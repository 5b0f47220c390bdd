"""The library's surface: the context, reports, rule sets, ``@rule`` and crash handling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actors.validation import (
    RESEARCH_RULES,
    SCORING_RULES,
    WRITING_RULES,
    Report,
    RuleContext,
    RuleSet,
    check,
    rule,
)
from actors.validation._rule import rule_id_of
from messages import OutreachDraft, RuleViolation, Stage, UsageError
from tests.support.outputs import BODY, CTX, draft, fired, score


def test_context_defaults() -> None:
    """The context's defaults are the documented thresholds and bounds."""
    ctx = RuleContext(sender_domain="leadwright.example")
    assert (ctx.confidence_threshold, ctx.icp_tolerance, ctx.fit_high, ctx.fit_medium) == (
        0.6,
        25,
        70,
        40,
    )
    assert (ctx.min_body_chars, ctx.max_body_chars, ctx.max_subject_chars) == (200, 1500, 120)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"confidence_threshold": 1.5}, "confidence_threshold=1.5 must be within 0.0-1.0"),
        ({"icp_tolerance": -1}, "icp_tolerance=-1 must be >= 0"),
        (
            {"fit_medium": 80},
            "fit_medium=80 and fit_high=70 must satisfy 0 <= fit_medium <= fit_high <= 100",
        ),
        (
            {"min_body_chars": 2000},
            "min_body_chars=2000 and max_body_chars=1500 must satisfy "
            "0 <= min_body_chars <= max_body_chars",
        ),
        ({"max_subject_chars": 0}, "max_subject_chars=0 must be >= 1"),
    ],
)
def test_context_rejects_nonsense(changes: dict[str, Any], message: str) -> None:
    """A context whose settings contradict each other raises UsageError naming the values."""
    with pytest.raises(UsageError) as caught:
        RuleContext(sender_domain="leadwright.example", **changes)
    assert str(caught.value) == message


def test_report_passed() -> None:
    """A report passes only when it has neither re-ask nor review violations."""
    violation = RuleViolation(rule="x.y", reason="Wrong.")
    assert Report().passed
    assert not Report(reask=(violation,)).passed
    assert not Report(review=(violation,)).passed


def test_rule_sets_name_their_stage_and_ids() -> None:
    """Each stage declares its rules once, with stable ids split into re-ask and review."""
    assert [rule_id_of(r) for r in RESEARCH_RULES.reask] == [
        "research.claims.empty",
        "research.summary.empty",
        "research.grounding.unknown_evidence",
        "research.grounding.quote_not_found",
    ]
    assert RESEARCH_RULES.review == ()
    assert [rule_id_of(r) for r in SCORING_RULES.reask] == ["score.range", "score.consistency"]
    assert [rule_id_of(r) for r in SCORING_RULES.review] == [
        "score.confidence",
        "score.icp_disagreement",
        "input.personal_email",
        "input.shared_mailbox",
        "input.placeholder",
    ]
    assert [rule_id_of(r) for r in WRITING_RULES.reask] == [
        "draft.greeting",
        "draft.company",
        "draft.placeholder",
        "draft.markup",
        "draft.format_character",
        "draft.length",
        "draft.subject_length",
        "draft.unsupported_fact",
        "draft.foreign_link",
        "draft.opt_out",
        "draft.injection_echo",
    ]
    assert WRITING_RULES.review == ()


def test_rule_decorator_gives_violations_its_id() -> None:
    """A function that yields reasons becomes a rule whose violations carry its id."""

    @rule("test.always")
    def always(output: str, ctx: RuleContext) -> Iterator[str]:
        yield f"Output {output} is wrong."

    assert always("x", CTX) == [RuleViolation(rule="test.always", reason="Output x is wrong.")]
    assert rule_id_of(always) == "test.always"


@pytest.mark.parametrize("bad", ["draft", "Draft.Greeting", "draft..greeting", "draft.", ""])
def test_rule_id_must_be_dotted(bad: str) -> None:
    """A rule id that is not dotted lower-case words raises UsageError naming it."""
    with pytest.raises(UsageError) as caught:
        rule(bad)
    assert str(caught.value) == (
        f"rule_id={bad!r} must be dotted lower-case words, such as 'draft.placeholder'"
    )


def test_crashing_rule_becomes_review_violation() -> None:
    """A rule that raises becomes a review violation '<id>.crashed'; the other rules still run."""

    @rule("test.boom")
    def boom(output: str, ctx: RuleContext) -> Iterator[str]:
        raise ZeroDivisionError("division by zero")
        yield ""

    @rule("test.fails")
    def fails(output: str, ctx: RuleContext) -> Iterator[str]:
        yield "It failed."

    report = RuleSet(stage=Stage.WRITING, reask=(boom, fails), review=()).apply("x", CTX)
    assert report.reask == (RuleViolation(rule="test.fails", reason="It failed."),)
    assert report.review == (
        RuleViolation(
            rule="test.boom.crashed",
            reason="The validator rule test.boom crashed with ZeroDivisionError on this output, "
            "so the output is unchecked and a human must review it.",
        ),
    )


def test_plain_function_rule_crash_is_named_by_qualname() -> None:
    """A rule written without ``@rule`` that crashes is named by its module and qualified name."""

    def plain(output: str, ctx: RuleContext) -> list[RuleViolation]:
        raise KeyError(output)

    report = RuleSet(stage=Stage.WRITING, reask=(), review=(plain,)).apply("x", CTX)
    assert [v.rule for v in report.review] == [
        f"{__name__}.test_plain_function_rule_crash_is_named_by_qualname.<locals>.plain.crashed"
    ]


def test_base_exceptions_propagate() -> None:
    """Only Exception becomes a violation; cancellation-like BaseExceptions propagate."""

    class Stop(BaseException):
        pass

    def stop(output: str, ctx: RuleContext) -> list[RuleViolation]:
        raise Stop

    with pytest.raises(Stop):
        RuleSet(stage=Stage.WRITING, reask=(stop,), review=()).apply("x", CTX)


def test_check_never_raises_on_malformed_output() -> None:
    """An output built past the contract that makes rules crash yields review violations."""
    broken = OutreachDraft.model_construct(**(dict(draft()) | {"body": None}))
    report = check(broken, CTX)
    assert not report.passed
    assert "draft.greeting.crashed" in {v.rule for v in report.review}
    assert all(v.rule.endswith(".crashed") for v in report.review)


def test_check_dispatches_by_stage() -> None:
    """check runs the rule set of the output's own stage."""
    assert fired(score(confidence=0.1)) == {"score.confidence"}
    assert fired(draft(body=BODY.replace("Hi Zoë,", "Hello,"))) == {"draft.greeting"}
