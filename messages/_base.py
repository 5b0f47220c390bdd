"""The message base class and the registry of every message type."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any, ClassVar, final

from pydantic import BaseModel, ConfigDict

from messages._errors import UsageError


class Message(BaseModel):
    """An immutable, strictly validated message that actors exchange.

    A subclass declares a ``kind: Literal["..."] = "..."`` field: the discriminator that
    names it on the wire, in the journal and in unions. Setting ``probabilistic = True``
    marks a type that an LLM produced; the bus then delivers it to its validator alone.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    probabilistic: ClassVar[bool] = False
    """Whether an LLM produced this type, so that it must pass a validator first."""

    version: ClassVar[int] = 1
    """The contract's version; bump it on any change that breaks old readers."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # A subclass without a kind is an abstract base shared by concrete messages.
        if "kind" in cls.model_fields:
            registry.register(cls)

    @classmethod
    def kind_name(cls) -> str:
        """The discriminator value of this message type."""
        kind = _KINDS.get(cls)
        if kind is not None:
            return kind
        field = cls.model_fields.get("kind")
        if field is None or not isinstance(field.default, str):
            raise UsageError(
                f"{cls.__name__} has no kind; declare "
                f'kind: Literal["{_snake(cls.__name__)}"] = "{_snake(cls.__name__)}"'
            )
        # Asked on every hop (routing, journaling), and model_fields is slow to reach.
        _KINDS[cls] = field.default
        return field.default


_KINDS: dict[type[Message], str] = {}


@final
class MessageRegistry:
    """Every message type by kind, for decoding envelopes and exporting contracts."""

    def __init__(self) -> None:
        self._by_kind: dict[str, type[Message]] = {}

    def register(self, message_type: type[Message]) -> None:
        """Record a message type; two types may not share a kind."""
        kind = message_type.kind_name()
        _check_kind_annotation(message_type, kind)
        known = self._by_kind.get(kind)
        if known is not None and _qualified(known) != _qualified(message_type):
            raise UsageError(
                f"kind={kind!r} of {_qualified(message_type)} is already used by "
                f"{_qualified(known)}; give each message type its own kind"
            )
        self._by_kind[kind] = message_type

    def __getitem__(self, kind: str) -> type[Message]:
        try:
            return self._by_kind[kind]
        except KeyError:
            raise UsageError(f"Unknown message kind {kind!r}; is its module imported?") from None

    def __iter__(self) -> Iterator[type[Message]]:
        return iter(sorted(self._by_kind.values(), key=lambda t: t.kind_name()))

    def __len__(self) -> int:
        return len(self._by_kind)

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        """The JSON Schema of every registered type, keyed by kind."""
        schemas: dict[str, dict[str, Any]] = {}
        for message_type in self:
            schema = message_type.model_json_schema()
            schema["x-version"] = message_type.version
            schema["x-probabilistic"] = message_type.probabilistic
            schemas[message_type.kind_name()] = schema
        return schemas


registry = MessageRegistry()
"""The process-wide registry; every ``Message`` subclass enters it when it is defined."""


def _check_kind_annotation(message_type: type[Message], kind: str) -> None:
    annotation = message_type.model_fields["kind"].annotation
    if typing.get_origin(annotation) is not typing.Literal or typing.get_args(annotation) != (
        kind,
    ):
        raise UsageError(
            f"{message_type.__name__}.kind must be annotated Literal[{kind!r}], not {annotation!r}"
        )


def _qualified(message_type: type[Message]) -> str:
    return f"{message_type.__module__}.{message_type.__qualname__}"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
