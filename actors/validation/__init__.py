"""The validator's rule library: pure checks of every LLM output, grouped by stage.

``check(output, ctx)`` runs the rule set of the output's stage and returns a ``Report``
whose ``reask`` violations go back to the LLM and whose ``review`` violations go to a
human. A rule is a plain function ``(output, ctx) -> list[RuleViolation]``; ``@rule``
makes one from a function that yields reasons, and gives it its stable, dotted id.
"""

from actors.validation._check import RESEARCH_RULES, SCORING_RULES, WRITING_RULES, check
from actors.validation._context import RuleContext
from actors.validation._input import INPUT_RULES
from actors.validation._plain import explain, explain_all, topic
from actors.validation._policy import RULE_IDS, THRESHOLDS, RulePolicy
from actors.validation._research import NO_EVIDENCE
from actors.validation._rule import Report, Rule, RuleSet, rule
from actors.validation._settle import grounded_only, settle

__all__ = [
    "INPUT_RULES",
    "NO_EVIDENCE",
    "RESEARCH_RULES",
    "RULE_IDS",
    "SCORING_RULES",
    "THRESHOLDS",
    "WRITING_RULES",
    "Report",
    "Rule",
    "RuleContext",
    "RulePolicy",
    "RuleSet",
    "check",
    "explain",
    "explain_all",
    "grounded_only",
    "rule",
    "settle",
    "topic",
]
