"""Validator-first, as every bus enforces it in its own process: only a type's validator
receives it unvalidated or publishes it approved; and one mailbox per owner."""

from __future__ import annotations

from collections.abc import Mapping

from bus._mailbox import Mailbox
from messages import Envelope, Message, UsageError


def open_mailbox(
    mailboxes: dict[str, Mailbox], owner: str, capacity: int | None, default_capacity: int
) -> Mailbox:
    """``owner``'s mailbox in ``mailboxes``, made on first use with one capacity for good."""
    mailbox = mailboxes.get(owner)
    if mailbox is None:
        mailbox = Mailbox(owner, default_capacity if capacity is None else capacity)
        mailboxes[owner] = mailbox
    elif capacity is not None and capacity != mailbox.capacity:
        raise UsageError(
            f"Mailbox {owner!r} already has capacity={mailbox.capacity}, "
            f"not {capacity}; open it once, with one capacity"
        )
    return mailbox


def check_unvalidated_subscriber(
    validators: Mapping[type[Message], str], subscriber: str, message_type: type[Message]
) -> None:
    """Refuse ``subscriber`` unvalidated ``message_type`` unless it is the type's validator."""
    name = message_type.__name__
    if not message_type.probabilistic:
        raise UsageError(
            f"{name} is not probabilistic, so it is never unvalidated; "
            f"subscribe {subscriber!r} to it without unvalidated=True"
        )
    validator = validators.get(message_type)
    if validator != subscriber:
        raise UsageError(
            f"Only the validator of {name} ({validator!r}) may receive it unvalidated; "
            f"subscribe {subscriber!r} without unvalidated=True to get approved {name}"
        )


def check_publisher(validators: Mapping[type[Message], str], envelope: Envelope[Message]) -> None:
    """Refuse a probabilistic type with no validator, or approved by anyone else."""
    message_type = type(envelope.message)
    if not message_type.probabilistic:
        return
    name = message_type.__name__
    validator = validators.get(message_type)
    if validator is None:
        raise UsageError(
            f"{name} is probabilistic, but the bus has no validator for it; "
            f"pass validators={{{name}: <validator actor name>}} to the bus"
        )
    if envelope.approved and envelope.producer != validator:
        raise UsageError(
            f"Only the validator of {name} ({validator!r}) may publish it approved, "
            f"not {envelope.producer!r}"
        )
