"""Every stage's rule set, declared in one place, and ``check``, which runs the right one."""

from __future__ import annotations

from typing import assert_never

from actors.validation import _draft, _draft_facts, _injection, _input, _research, _scoring
from actors.validation._context import RuleContext
from actors.validation._rule import Report, RuleSet
from messages import LeadScore, OutreachDraft, ResearchResult, Stage

RESEARCH_RULES: RuleSet[ResearchResult] = RuleSet(
    stage=Stage.RESEARCH,
    reask=(
        _research.has_claims,
        _research.has_summary,
        _research.cites_known_evidence,
        _research.quotes_evidence,
    ),
    review=(),
)
"""Research must make claims, each citing evidence it was shown and quoting it verbatim."""

SCORING_RULES: RuleSet[LeadScore] = RuleSet(
    stage=Stage.SCORING,
    reask=(_scoring.in_range, _scoring.fit_matches_score),
    review=(
        _scoring.confident,
        _scoring.agrees_with_icp,
        _input.work_email,
        _input.personal_mailbox,
        _input.real_names,
    ),
)
"""A score must be in range and agree with its fit; doubt, ICP disagreement and a lead's
row that looks wrong need a human."""

WRITING_RULES: RuleSet[OutreachDraft] = RuleSet(
    stage=Stage.WRITING,
    reask=(
        _draft.greets_by_first_name,
        _draft.names_company,
        _draft.no_placeholders,
        _draft.no_markup,
        _draft.no_format_characters,
        _draft.body_length,
        _draft.subject_length,
        _draft_facts.numbers_from_research,
        _draft_facts.links_allowed,
        _draft.has_opt_out,
        _injection.no_injection_echo,
    ),
    review=(),
)
"""A draft must follow the draft policy; every failure can be fed back to the writer."""

RULE_SETS = (RESEARCH_RULES, SCORING_RULES, WRITING_RULES)
"""Every stage's rule set, in the order of the stages."""


def check(output: ResearchResult | LeadScore | OutreachDraft, ctx: RuleContext) -> Report:
    """Run the rules of ``output``'s stage on it, and report what it broke.

    ``check`` never raises on any output of these types, however odd: a rule that raises
    becomes a review violation ``<rule id>.crashed`` (see ``RuleSet.apply``), because the
    validator must neither crash on strange LLM output nor let an unchecked output through.
    Any other type is a type error, which ``assert_never`` makes mypy report.
    """
    match output:
        case ResearchResult():
            return RESEARCH_RULES.apply(output, ctx)
        case LeadScore():
            return SCORING_RULES.apply(output, ctx)
        case OutreachDraft():
            return WRITING_RULES.apply(output, ctx)
        case _:
            assert_never(output)
