"""Message contracts: every registered type round-trips, and the base class is strict."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any, Literal

import annotated_types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

import messages
from messages import Envelope, Message, UsageError, registry
from tests.support.messages import Ping, Sample, Score

# Import every module of the messages package, so that a contract added later is in the
# registry (and so in these tests) even before the package re-exports it.
for _module in pkgutil.iter_modules(messages.__path__, f"{messages.__name__}."):
    importlib.import_module(_module.name)

MAX_ITEMS = 3
"""How long generated collections get: enough to test lists, small enough to stay fast."""


def message_strategy(message_type: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Valid instances of ``message_type``, built field by field from its declaration."""
    fields = {
        name: field_strategy(field)
        for name, field in message_type.model_fields.items()
        if name != "kind"
    }
    return st.builds(message_type, **fields)


def field_strategy(field: FieldInfo) -> st.SearchStrategy[Any]:
    strategy = _annotation_strategy(field.annotation, list(field.metadata))
    if not field.is_required():
        # A default must round-trip too, and a default factory is a different path.
        default = field.get_default(call_default_factory=True)
        strategy = strategy | st.just(default)
    return strategy


def _annotation_strategy(annotation: Any, constraints: list[Any]) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        extra = [m for arg in args[1:] for m in _constraints_of(arg)]
        return _annotation_strategy(args[0], [*constraints, *extra])
    if annotation is None or annotation is type(None):
        return st.none()
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of(*(_annotation_strategy(arg, constraints) for arg in args))
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (list, tuple, set, frozenset):
        return _collection_strategy(origin, args, constraints)
    if origin is dict:
        keys = _annotation_strategy(args[0], [])
        values = _annotation_strategy(args[1], [])
        low, high = _sizes(constraints)
        return st.dictionaries(keys, values, min_size=low, max_size=high)
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return message_strategy(annotation)
        if issubclass(annotation, Enum):
            return st.sampled_from(annotation)
        return _scalar_strategy(annotation, constraints)
    return st.from_type(annotation)


def _constraints_of(metadata: Any) -> list[Any]:
    return list(metadata.metadata) if isinstance(metadata, FieldInfo) else [metadata]


def _collection_strategy(
    origin: Any, args: tuple[Any, ...], constraints: list[Any]
) -> st.SearchStrategy[Any]:
    low, high = _sizes(constraints)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return st.tuples(*(_annotation_strategy(arg, []) for arg in args))
    items = st.lists(_annotation_strategy(args[0], []), min_size=low, max_size=high)
    if origin is list:
        return items
    return items.map(origin)


def _sizes(constraints: list[Any], extra: int = MAX_ITEMS) -> tuple[int, int]:
    """The declared length bounds, with the upper one at most ``extra`` above the lower."""
    lows = [c.min_length for c in constraints if isinstance(c, annotated_types.MinLen)]
    highs = [c.max_length for c in constraints if isinstance(c, annotated_types.MaxLen)]
    low = max(lows, default=0)
    return low, min([*highs, low + extra])


def _scalar_strategy(annotation: type, constraints: list[Any]) -> st.SearchStrategy[Any]:
    bounds: dict[str, Any] = {}
    for c in constraints:
        match c:
            case annotated_types.Ge(ge=value):
                bounds["min_value"] = value
            case annotated_types.Gt(gt=value):
                bounds["min_value"] = value
                bounds["exclude_min"] = True
            case annotated_types.Le(le=value):
                bounds["max_value"] = value
            case annotated_types.Lt(lt=value):
                bounds["max_value"] = value
                bounds["exclude_max"] = True
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        low = bounds.get("min_value")
        high = bounds.get("max_value")
        if low is not None and bounds.get("exclude_min"):
            low += 1
        if high is not None and bounds.get("exclude_max"):
            high -= 1
        return st.integers(min_value=low, max_value=high)
    if annotation is float:
        # NaN never equals itself, so no message holding one could compare equal.
        return st.floats(allow_nan=False, allow_infinity=False, **bounds)
    if annotation is str:
        patterns = [c.pattern for c in constraints if getattr(c, "pattern", None)]
        if patterns:
            return st.from_regex(patterns[0], fullmatch=True)
        low, high = _sizes(constraints, extra=20)
        return st.text(min_size=low, max_size=high)
    if annotation is datetime:
        return st.datetimes(timezones=st.none() | st.just(UTC))
    return st.from_type(annotation)


IDS = st.text(alphabet="0123456789abcdef", min_size=1, max_size=32)
OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)


def envelope_strategy(message: st.SearchStrategy[Message]) -> st.SearchStrategy[Envelope[Any]]:
    """Envelopes around ``message`` with every field of the envelope varied too."""
    return st.builds(
        Envelope,
        message=message,
        producer=st.text(min_size=1, max_size=20),
        trace_id=IDS,
        causation_id=st.none() | IDS,
        attempt=st.integers(min_value=1, max_value=1_000),
        approved=st.booleans(),
        message_id=IDS,
        created_at=st.datetimes(timezones=OFFSETS),
    )


@functools.cache
def envelopes_of(message_type: type[Message]) -> st.SearchStrategy[Envelope[Any]]:
    """``envelope_strategy`` of ``message_type``, built once: building is most of the cost."""
    return envelope_strategy(message_strategy(message_type))


@pytest.mark.parametrize("message_type", list(registry), ids=lambda t: t.kind_name())
@settings(max_examples=40)
@given(data=st.data())
def test_every_message_type_round_trips_through_json(
    message_type: type[Message], data: st.DataObject
) -> None:
    """Every registered message type survives ``to_json`` and ``from_json`` in an envelope."""
    envelope = data.draw(envelopes_of(message_type))
    decoded = Envelope.from_json(envelope.to_json())
    assert decoded == envelope
    assert type(decoded.message) is message_type


def test_the_registry_holds_the_test_and_runtime_types() -> None:
    """The registry knows each type by its kind, so the round-trip covers them all."""
    kinds = {message_type.kind_name() for message_type in registry}
    assert {"test_ping", "test_score", "test_sample", "dead_letter"} <= kinds
    assert registry["test_ping"] is Ping
    assert len(registry) == len(kinds)


def test_messages_are_frozen() -> None:
    """Assigning to a field of a message raises instead of changing it."""
    ping = Ping(n=1)
    with pytest.raises(ValidationError) as caught:
        ping.n = 2  # type: ignore[misc]
    assert caught.value.errors()[0]["type"] == "frozen_instance"
    assert ping.n == 1


def test_messages_forbid_extra_fields() -> None:
    """A field the contract does not declare is refused."""
    with pytest.raises(ValidationError) as caught:
        Ping(n=1, colour="red")  # type: ignore[call-arg]
    assert [(e["type"], e["loc"]) for e in caught.value.errors()] == [
        ("extra_forbidden", ("colour",))
    ]


def test_messages_are_strict() -> None:
    """A string is not coerced into an int field."""
    with pytest.raises(ValidationError) as caught:
        Ping(n="1")  # type: ignore[arg-type]
    assert [(e["type"], e["loc"]) for e in caught.value.errors()] == [("int_type", ("n",))]


def test_field_constraints_are_enforced() -> None:
    """A value outside a declared range is refused."""
    with pytest.raises(ValidationError) as caught:
        Score(value=101)
    assert caught.value.errors()[0]["type"] == "less_than_equal"


def test_a_duplicate_kind_raises() -> None:
    """Two message types may not share a kind, and the message names both."""
    with pytest.raises(UsageError) as caught:

        class Impostor(Message):
            kind: Literal["test_ping"] = "test_ping"

    assert str(caught.value) == (
        f"kind='test_ping' of {__name__}.test_a_duplicate_kind_raises.<locals>.Impostor "
        "is already used by tests.support.messages.Ping; give each message type its own kind"
    )
    assert registry["test_ping"] is Ping


def test_a_kind_must_be_annotated_as_its_literal() -> None:
    """A kind declared as a plain ``str`` is refused, with the annotation to use instead."""
    with pytest.raises(UsageError) as caught:

        class Loose(Message):
            kind: str = "test_loose"

    assert str(caught.value) == (
        "Loose.kind must be annotated Literal['test_loose'], not <class 'str'>"
    )


def test_a_type_without_kind_names_the_fix() -> None:
    """Asking a kindless base class for its kind says how to declare one."""
    with pytest.raises(UsageError) as caught:
        Message.kind_name()
    assert str(caught.value) == (
        'Message has no kind; declare kind: Literal["message"] = "message"'
    )


def test_an_unknown_kind_raises() -> None:
    """Looking up a kind nobody registered says which one, and what to check."""
    with pytest.raises(UsageError) as caught:
        registry["test_no_such_kind"]
    assert str(caught.value) == (
        "Unknown message kind 'test_no_such_kind'; is its module imported?"
    )


def test_json_schema_export_contains_every_kind() -> None:
    """The schema export has one entry per registered kind, marked with its version."""
    schemas = registry.json_schemas()
    assert set(schemas) == {message_type.kind_name() for message_type in registry}
    assert schemas["test_score"]["x-probabilistic"] is True
    assert schemas["test_ping"]["x-probabilistic"] is False
    assert schemas["test_ping"]["x-version"] == 1
    assert schemas["test_ping"]["properties"]["kind"]["const"] == "test_ping"
    assert "ge" not in schemas["test_sample"]["properties"]["count"]
    assert schemas["test_sample"]["properties"]["count"]["minimum"] == 0


def test_probabilistic_is_a_class_flag_not_a_field() -> None:
    """Being probabilistic is part of the type, never of the payload."""
    assert Score.probabilistic is True
    assert Ping.probabilistic is False
    assert "probabilistic" not in Score(value=1).model_dump()
    assert Sample.model_fields["pings"].default_factory is list
