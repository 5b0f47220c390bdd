"""The message bus: routing, bounded mailboxes, the test bus, and clocks.

The bus knows messages and nothing about agents. Actors reach it through the
``Publisher`` protocol, and the test bus implements the same protocol.

``NatsBus`` needs nats-py (the ``nats`` extra), so it is imported on first use.
"""

from typing import TYPE_CHECKING, Any

from bus._clock import Clock, FakeClock, SystemClock
from bus._compaction import KEEP_KINDS
from bus._entry import JournalEntry
from bus._in_process import InProcessBus
from bus._journal import JOURNAL_VERSION, Ack, Journal, SqliteJournal
from bus._mailbox import Mailbox
from bus._nats_server import NatsServer
from bus._nats_settings import NatsSettings
from bus._protocol import Bus, Publisher, PublishHook, Recipient, Unrouted
from bus._sqlite import SqliteFile, storage_failure
from bus._statistics import BusStatistics, MailboxStatistics
from bus._testing import TestBus

if TYPE_CHECKING:
    from bus._nats import NatsBus

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
    "NatsBus",
    "NatsServer",
    "NatsSettings",
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


def __getattr__(name: str) -> Any:
    if name == "NatsBus":
        from bus._nats import NatsBus

        return NatsBus
    raise AttributeError(f"module 'bus' has no attribute {name!r}")
