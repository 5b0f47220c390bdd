"""The envelope: causal metadata, derivation of children, and its JSON form."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from messages import Envelope, UsageError
from tests.support.messages import Ping, Pong


def test_new_starts_a_causal_chain() -> None:
    """A new envelope has no cause, is its own trace, and is stamped now in UTC."""
    envelope = Envelope.new(Ping(n=1), producer="intake")
    assert envelope.causation_id is None
    assert envelope.trace_id == envelope.message_id
    assert envelope.attempt == 1
    assert envelope.approved is False
    assert envelope.producer == "intake"
    assert envelope.created_at.tzinfo is UTC
    assert len(envelope.message_id) == 32
    int(envelope.message_id, 16)


def test_new_keeps_a_given_trace() -> None:
    """A trace id passed in is kept, so one lead's messages share it."""
    envelope = Envelope.new(Ping(n=1), producer="intake", trace_id="lead-7", attempt=2)
    assert envelope.trace_id == "lead-7"
    assert envelope.attempt == 2
    assert envelope.message_id != "lead-7"


def test_child_shares_the_trace_and_names_its_cause() -> None:
    """A child envelope keeps the trace, names its parent as cause, and gets a new id."""
    parent = Envelope.new(Ping(n=1), producer="intake", trace_id="lead-7")
    child = parent.child(Pong(n=1), producer="echo", attempt=3, approved=True)
    assert child.trace_id == "lead-7"
    assert child.causation_id == parent.message_id
    assert child.message_id != parent.message_id
    assert child.producer == "echo"
    assert child.attempt == 3
    assert child.approved is True
    assert child.message == Pong(n=1)


def test_ids_are_unique() -> None:
    """Every envelope gets its own id."""
    ids = {Envelope.new(Ping(n=n), producer="p").message_id for n in range(1_000)}
    assert len(ids) == 1_000


def test_attempt_must_be_positive() -> None:
    """An attempt below 1 is refused with the value in the message."""
    with pytest.raises(UsageError) as caught:
        Envelope.new(Ping(n=1), producer="p", attempt=0)
    assert str(caught.value) == "attempt=0 must be >= 1"


def test_envelopes_are_frozen() -> None:
    """Assigning to an envelope field raises."""
    envelope = Envelope.new(Ping(n=1), producer="p")
    with pytest.raises(dataclasses.FrozenInstanceError):
        envelope.producer = "someone else"  # type: ignore[misc]


def test_kind_is_the_kind_of_the_message() -> None:
    """``kind`` names the message inside."""
    assert Envelope.new(Ping(n=1), producer="p").kind == "test_ping"


def test_to_json_is_one_line_with_every_field() -> None:
    """The JSON form is a single line holding the metadata and the message."""
    envelope = Envelope.new(Ping(n=1), producer="intaké")
    text = envelope.to_json()
    assert "\n" not in text
    assert "intaké" in text
    assert json.loads(text) == {
        "message_id": envelope.message_id,
        "trace_id": envelope.trace_id,
        "causation_id": None,
        "attempt": 1,
        "producer": "intaké",
        "created_at": envelope.created_at.isoformat(),
        "approved": False,
        "message": {"kind": "test_ping", "n": 1},
    }


@given(
    n=st.integers(),
    producer=st.text(min_size=1),
    trace_id=st.text(min_size=1),
    attempt=st.integers(min_value=1),
    approved=st.booleans(),
)
def test_a_child_round_trips_through_json(
    n: int, producer: str, trace_id: str, attempt: int, approved: bool
) -> None:
    """A child envelope decodes to an equal envelope, its causation included."""
    parent = Envelope.new(Ping(n=n), producer="p", trace_id=trace_id)
    child = parent.child(Pong(n=n), producer=producer, attempt=attempt, approved=approved)
    decoded = Envelope.from_json(child.to_json())
    assert decoded == child
    assert decoded.causation_id == parent.message_id


def test_from_json_names_a_missing_field() -> None:
    """Decoding a record without a producer says which field is missing."""
    record = json.loads(Envelope.new(Ping(n=1), producer="p").to_json())
    del record["producer"]
    with pytest.raises(UsageError) as caught:
        Envelope.from_json(json.dumps(record))
    assert str(caught.value) == "Not an envelope: missing or mistyped field 'producer'"


def test_from_json_refuses_an_unknown_kind() -> None:
    """A record whose message kind is not registered is refused by name."""
    record = json.loads(Envelope.new(Ping(n=1), producer="p").to_json())
    record["message"]["kind"] = "test_unheard_of"
    with pytest.raises(UsageError) as caught:
        Envelope.from_json(json.dumps(record))
    assert str(caught.value) == "Unknown message kind 'test_unheard_of'; is its module imported?"


def test_from_json_refuses_an_invalid_message() -> None:
    """A record whose message breaks its contract is refused by the message's own model."""
    record = json.loads(Envelope.new(Ping(n=1), producer="p").to_json())
    record["message"]["unexpected"] = True
    with pytest.raises(ValidationError) as caught:
        Envelope.from_json(json.dumps(record))
    assert [(e["type"], e["loc"]) for e in caught.value.errors()] == [
        ("extra_forbidden", ("unexpected",))
    ]


def test_an_envelope_around_the_same_message_reuses_its_json() -> None:
    """An approval or a resend of a serialised message reuses its JSON; a new message does not."""
    first = Envelope.new(Ping(n=1), producer="a")
    encoded = first.to_json()
    approved = first.child(first.message, producer="validator", approved=True)
    other = first.child(Ping(n=2), producer="validator")
    assert approved._message_json is first._message_json is not None
    assert other._message_json is None
    assert first.resent()._message_json is first._message_json
    for envelope in (approved, other, first.resent()):
        decoded = Envelope.from_json(envelope.to_json())
        assert decoded == envelope
    assert Envelope.from_json(encoded) == first


def test_message_ids_start_with_the_time_so_the_journal_appends_them() -> None:
    """Ids begin with the time in ns: later ids sort after earlier ones, in the journal too."""
    ids = [Envelope.new(Ping(n=n), producer="a").message_id for n in range(100)]
    stamps = [message_id[:16] for message_id in ids]
    assert stamps == sorted(stamps)
    assert len(set(ids)) == len(ids)
    assert all(len(message_id) == 32 and int(message_id, 16) >= 0 for message_id in ids)
