"""The stores: what the agents write and the operator's verbs read, each a table (or a
file) of the run directory.

In ``journal.sqlite``: the records submitted and the inputs that brought them
(``_records``), the outcome ledger (``_ledger``), the review queue behind the inbox
(``_review``), the dead letters and Operations' retry schedule (``_dead_letters``,
``_ops_schedule``), validated research of companies (``_research_store``,
``_sqlite_research_store``) and what the LLM calls used (``_usage_store``). In
``crm.sqlite``: the CRM (``_crm_row``, ``_crm_store``, ``_sqlite_crm``, ``_crm_query``),
and a fault-injecting CRM to rehearse outages (``_flaky_crm``).

The functions that take a ``sqlite3.Connection`` (``set_outcome``, ``decide``, ...) run
inside a caller's transaction, so that an operation changes several tables at once.
"""

from actors.stores._crm_query import CrmPage, CrmQuery, CrmSort
from actors.stores._crm_row import CrmRow
from actors.stores._crm_store import CrmStore, CrmUnavailable
from actors.stores._dead_letters import (
    DeadLetterItem,
    DeadLetterStore,
    LetterStatus,
    add_letter,
    lineage_of,
)
from actors.stores._flaky_crm import FlakyCrm
from actors.stores._ledger import (
    FINISHED_EARLIER,
    LedgerStore,
    ReportRow,
    clear_outcome,
    replace_outcome,
    set_outcome,
)
from actors.stores._ops_schedule import Due, RetrySchedule, unschedule, utc_now
from actors.stores._records import (
    PENDING,
    Claim,
    Receipt,
    StoredRecord,
    Submission,
    SubmissionClaim,
)
from actors.stores._research_store import (
    MemoryResearchStore,
    ResearchKey,
    ResearchStore,
    evidence_digest,
)
from actors.stores._review import (
    Decided,
    ReviewItem,
    ReviewStatus,
    ReviewStore,
    approval_effect,
    decide,
    decision_words,
    record_action,
    why,
)
from actors.stores._sqlite_crm import SqliteCrm
from actors.stores._sqlite_research_store import SqliteResearchStore
from actors.stores._usage_store import UsageStore

__all__ = [
    "FINISHED_EARLIER",
    "PENDING",
    "Claim",
    "CrmPage",
    "CrmQuery",
    "CrmRow",
    "CrmSort",
    "CrmStore",
    "CrmUnavailable",
    "DeadLetterItem",
    "DeadLetterStore",
    "Decided",
    "Due",
    "FlakyCrm",
    "LedgerStore",
    "LetterStatus",
    "MemoryResearchStore",
    "Receipt",
    "ReportRow",
    "ResearchKey",
    "ResearchStore",
    "RetrySchedule",
    "ReviewItem",
    "ReviewStatus",
    "ReviewStore",
    "SqliteCrm",
    "SqliteResearchStore",
    "StoredRecord",
    "Submission",
    "SubmissionClaim",
    "UsageStore",
    "add_letter",
    "approval_effect",
    "clear_outcome",
    "decide",
    "decision_words",
    "evidence_digest",
    "lineage_of",
    "record_action",
    "replace_outcome",
    "set_outcome",
    "unschedule",
    "utc_now",
    "why",
]
