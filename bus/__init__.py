"""The message bus: routing, bounded mailboxes, the test bus, and clocks.

The bus knows messages and nothing about agents. Actors reach it through the
``Publisher`` protocol, and the test bus implements the same protocol.
"""

from bus._clock import Clock, FakeClock, SystemClock
from bus._compaction import KEEP_KINDS
from bus._entry import JournalEntry
from bus._in_process import InProcessBus
from bus._journal import JOURNAL_VERSION, Ack, Journal, SqliteJournal
from bus._mailbox import Mailbox
from bus._protocol import Bus, Publisher, PublishHook, Recipient, Unrouted
from bus._sqlite import SqliteFile, storage_failure
from bus._statistics import BusStatistics, MailboxStatistics
from bus._testing import TestBus

__all__ = [
    "JOURNAL_VERSION",
    "KEEP_KINDS",
    "Ack",
    "Bus",
    "BusStatistics",
    "Clock",
    "FakeClock",
    "InProcessBus",
    "Journal",
    "JournalEntry",
    "Mailbox",
    "MailboxStatistics",
    "PublishHook",
    "Publisher",
    "Recipient",
    "SqliteFile",
    "SqliteJournal",
    "SystemClock",
    "TestBus",
    "Unrouted",
    "storage_failure",
]
