"""The agents of the SDR pipeline, each an actor, and what they read.

The three LLM stages (research, scoring, the writer) share ``LlmStage`` (``_stage``) and
ask with the prompts of ``_prompts``; scoring checks its model against the ideal customer
profile (``_icp``); research reuses validated research of a company
(``_company_research``). The validator approves every LLM output; the CRM, the review
queue, the dead letters and the outcome ledger write the stores (``actors.stores``);
metrics and run control tell the run what happened.
"""

from actors.agents._company_research import (
    DEFAULT_RESEARCH_TTL,
    CompanyResearch,
    CompanyResearchStatistics,
)
from actors.agents._crm import Crm
from actors.agents._dead_letters import DeadLetters
from actors.agents._icp import Icp, IcpScore, Sender
from actors.agents._metrics import Metrics, MetricsBook
from actors.agents._outcome_ledger import OutcomeLedger
from actors.agents._prompts import (
    DEFAULT_PROMPTS,
    INSTRUCTIONS,
    PROMPT_FILES,
    Prompts,
    prompt_version,
    research_request,
    scoring_request,
    writing_request,
)
from actors.agents._research import Research
from actors.agents._review_queue import ReviewQueue
from actors.agents._run_control import RunControl, RunNotice
from actors.agents._scoring import Scoring
from actors.agents._stage import LlmStage, StageOptions
from actors.agents._validator import Validator
from actors.agents._writer import Writer

__all__ = [
    "DEFAULT_PROMPTS",
    "DEFAULT_RESEARCH_TTL",
    "INSTRUCTIONS",
    "PROMPT_FILES",
    "CompanyResearch",
    "CompanyResearchStatistics",
    "Crm",
    "DeadLetters",
    "Icp",
    "IcpScore",
    "LlmStage",
    "Metrics",
    "MetricsBook",
    "OutcomeLedger",
    "Prompts",
    "Research",
    "ReviewQueue",
    "RunControl",
    "RunNotice",
    "Scoring",
    "Sender",
    "StageOptions",
    "Validator",
    "Writer",
    "prompt_version",
    "research_request",
    "scoring_request",
    "writing_request",
]
