"""Intake: reading leads from CSV or JSONL, checking them, and the actor that admits them.

A feeder reads records with ``read_records`` (or takes them from an HTTP request); each is
checked once at the door (``CheckedRecord``: its ``lead_id_for``, its ``fingerprint`` and
``check_record``'s verdict) and submitted to the run directory's inbox, which refuses
duplicates. The system admits it as ``LeadSubmitted``, and ``Intake`` makes the lead:
``LeadAccepted``, or ``LeadRejected`` and a ``rejected`` ``LeadOutcome``. ``InputError`` is
the operator error: the input as a whole cannot be read.
"""

from actors.intake._checked import CheckedRecord
from actors.intake._checks import FIELD_LIMIT, MAX_EMPLOYEES, NOTES_LIMIT, CleanFields, check_record
from actors.intake._exports import EXPORTS
from actors.intake._headers import NAME_FIELDS, ColumnMap, map_headers, parse_map
from actors.intake._ids import fingerprint, lead_id_for
from actors.intake._intake import Intake
from actors.intake._jsonl import fields_of
from actors.intake._mailboxes import (
    PERSONAL_MAIL_DOMAINS,
    SHARED_MAILBOXES,
    is_personal_mailbox,
    is_shared_mailbox,
    mailbox_of,
)
from actors.intake._reader import read_records
from actors.intake._record import COLUMNS, ERROR_FIELD, RawRecord
from actors.intake._seniority import SeniorityScale
from actors.intake._source import InputError
from actors.intake._syntax import format_character

__all__ = [
    "COLUMNS",
    "ERROR_FIELD",
    "EXPORTS",
    "FIELD_LIMIT",
    "MAX_EMPLOYEES",
    "NAME_FIELDS",
    "NOTES_LIMIT",
    "PERSONAL_MAIL_DOMAINS",
    "SHARED_MAILBOXES",
    "CheckedRecord",
    "CleanFields",
    "ColumnMap",
    "InputError",
    "Intake",
    "RawRecord",
    "SeniorityScale",
    "check_record",
    "fields_of",
    "fingerprint",
    "format_character",
    "is_personal_mailbox",
    "is_shared_mailbox",
    "lead_id_for",
    "mailbox_of",
    "map_headers",
    "parse_map",
    "read_records",
]
