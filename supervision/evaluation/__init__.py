"""Evaluation: replay a past run's leads (or a golden set) through a candidate model,
prompt or rule set, compare it with what was recorded, and gate on the difference.

``evaluate_run`` reads a baseline run directory without changing it, replays its finished
leads with the evidence they were researched with (``RecordedEvidence``) through the
candidate in a scratch directory, and compares the two sides (``Evaluation``);
``evaluate_golden`` does the same against a person's expectations. ``Condition`` is one
``--fail-if`` of the gate's small expression language, and ``write_report`` renders the
self-contained HTML report.
"""

from supervision.evaluation._budget import Budget, BudgetedLlm
from supervision.evaluation._evaluate import Plan, evaluate_run, gate
from supervision.evaluation._facts import Call, LeadFacts, RunFacts
from supervision.evaluation._gate import CHECKS, METRICS, Condition
from supervision.evaluation._golden import GoldenLead, evaluate_golden, load_golden
from supervision.evaluation._reader import finished_records, open_journal, read_run
from supervision.evaluation._replay import RecordedEvidence, Replay, ScratchCrm, replay
from supervision.evaluation._report import (
    REPORT_CSP,
    REPORT_HTML,
    REPORT_JSON,
    render,
    write_report,
)
from supervision.evaluation._result import (
    Evaluation,
    Expectation,
    GateResult,
    LeadResult,
    RuleRates,
    Side,
)
from supervision.evaluation._sample import stratified
from supervision.evaluation._stats import Proportion, cohen_kappa, word_diff

__all__ = [
    "CHECKS",
    "METRICS",
    "REPORT_CSP",
    "REPORT_HTML",
    "REPORT_JSON",
    "Budget",
    "BudgetedLlm",
    "Call",
    "Condition",
    "Evaluation",
    "Expectation",
    "GateResult",
    "GoldenLead",
    "LeadFacts",
    "LeadResult",
    "Plan",
    "Proportion",
    "RecordedEvidence",
    "Replay",
    "RuleRates",
    "RunFacts",
    "ScratchCrm",
    "Side",
    "cohen_kappa",
    "evaluate_golden",
    "evaluate_run",
    "finished_records",
    "gate",
    "load_golden",
    "open_journal",
    "read_run",
    "render",
    "replay",
    "stratified",
    "word_diff",
    "write_report",
]
