"""A real nats-server with JetStream for each test that asks for one, and a few helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from actors.intake import check_record, read_records
from bus import Mailbox, NatsServer
from messages import Envelope, Lead, Message

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CONFIG = EXAMPLES.parent / "deploy" / "nats-server.conf"
ROLES = ("serve", "research", "scoring", "writer", "validator")

WAIT_S = 20.0
"""The longest a test waits for a message that must come; reaching it fails the test."""


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """``nats-server -js`` on a free port of 127.0.0.1, with a store of its own."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


def password(role: str) -> str:
    return f"secret-{role}"


def passwords() -> dict[str, str]:
    """The environment that gives every role of deploy/nats-server.conf its password."""
    return {f"LEADWRIGHT_NATS_{role.upper()}_PASSWORD": password(role) for role in ROLES}


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[NatsServer]:
    """nats-server with the deployment config (deploy/nats-server.conf), every role set."""
    server = NatsServer(tmp_path / "nats", config=CONFIG, env=passwords()).start()
    try:
        yield server
    finally:
        server.stop()


async def take(mailbox: Mailbox) -> Envelope[Message]:
    """The next envelope in ``mailbox``, failing the test if none comes in time."""
    with anyio.fail_after(WAIT_S):
        return await mailbox.take()


def leads(count: int) -> list[Lead]:
    """``count`` distinct valid leads, made from the example file's valid records."""
    valid: list[dict[str, object]] = []
    for raw in read_records(EXAMPLES / "leads.csv"):
        checked = check_record(raw.fields)
        if not isinstance(checked, list):
            valid.append(dict(checked))
    made = []
    for n in range(count):
        fields = valid[n % len(valid)]
        local, domain = str(fields["email"]).split("@", 1)
        unique = {"lead_id": f"N{n:05d}", "record": n + 1, "email": f"{local}+{n}@{domain}"}
        made.append(Lead.model_validate({**fields, **unique}))
    return made
