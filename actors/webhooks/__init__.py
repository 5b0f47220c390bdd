"""Outbound webhooks by the Standard Webhooks specification, from a durable outbox.

An outcome (or a reviewer's decision) queues its event in the same transaction that
writes it (``announce_outcome``, ``announce_decision``); ``Webhooks`` and its supervised
``WebhookSender`` deliver it to every subscribed endpoint, signed, retried on a schedule,
behind a breaker per endpoint; the ``WebhookStore`` is what the command line and the
console read and change.
"""

from actors.webhooks._address import EndpointRefused, check_url
from actors.webhooks._dispatcher import (
    RESCAN_S,
    Doorbell,
    SenderStatistics,
    Webhooks,
    WebhookSender,
)
from actors.webhooks._events import announce_decision, announce_outcome
from actors.webhooks._policy import (
    DISABLE_AFTER_S,
    STANDARD_RETRIES,
    EndpointPolicy,
    parse_retries,
    retry_after,
)
from actors.webhooks._schema import WEBHOOK_SCHEMA, DeliveryStatus, EndpointState
from actors.webhooks._secrets import SECRETS_DIR, SecretFiles, new_secret
from actors.webhooks._sender import Attempt, attempt, headers_for
from actors.webhooks._store import Delivery, Due, Endpoint, Result, WebhookStore, check_events

__all__ = [
    "DISABLE_AFTER_S",
    "RESCAN_S",
    "SECRETS_DIR",
    "STANDARD_RETRIES",
    "WEBHOOK_SCHEMA",
    "Attempt",
    "Delivery",
    "DeliveryStatus",
    "Doorbell",
    "Due",
    "Endpoint",
    "EndpointPolicy",
    "EndpointRefused",
    "EndpointState",
    "Result",
    "SecretFiles",
    "SenderStatistics",
    "WebhookSender",
    "WebhookStore",
    "Webhooks",
    "announce_decision",
    "announce_outcome",
    "attempt",
    "check_events",
    "check_url",
    "headers_for",
    "new_secret",
    "parse_retries",
    "retry_after",
]
