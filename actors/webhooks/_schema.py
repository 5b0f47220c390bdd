"""The webhook tables in ``journal.sqlite``: endpoints, the outbox of events, and each
event's delivery to each endpoint with every attempt made."""

from __future__ import annotations

from enum import StrEnum

WEBHOOK_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    policy TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'enabled',
    disabled_reason TEXT,
    failing_since REAL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    record INTEGER,
    lead_id TEXT,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    endpoint INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    last_at TEXT,
    delivered_at TEXT,
    UNIQUE (event_id, endpoint)
);
CREATE INDEX IF NOT EXISTS webhook_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_by_endpoint ON webhook_deliveries (endpoint, id);
CREATE TABLE IF NOT EXISTS webhook_attempts (
    delivery INTEGER NOT NULL,
    at TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_attempts_of ON webhook_attempts (delivery);
"""
"""Added to any journal, old or new, by ``CREATE ... IF NOT EXISTS``."""


class EndpointState(StrEnum):
    """Whether deliveries go to an endpoint."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    """It failed for too long, or answered 410 Gone: nothing is sent until it is enabled."""


class DeliveryStatus(StrEnum):
    """Where one event's delivery to one endpoint is."""

    PENDING = "pending"
    """Not delivered yet: due now, or waiting for its next retry."""
    DELIVERED = "delivered"
    """The endpoint answered 2xx."""
    FAILED = "failed"
    """Every attempt of the schedule failed; ``redeliver`` starts it again."""
