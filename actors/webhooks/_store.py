"""The webhook store: endpoints, and the outbox's deliveries as the sender and people see them."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

from actors.webhooks._policy import EndpointPolicy
from actors.webhooks._schema import WEBHOOK_SCHEMA, DeliveryStatus, EndpointState
from bus import SqliteFile
from messages import UsageError, event_types


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One receiver of webhooks."""

    id: int
    url: str
    events: tuple[str, ...]
    policy: EndpointPolicy
    state: EndpointState
    disabled_reason: str | None
    failing_since: float | None
    """When its current run of failures began (Unix time), or ``None`` if it is not failing."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event's delivery to one endpoint."""

    id: int
    event_id: str
    """The ``webhook-id`` every attempt carries: the receiver's key to deduplicate."""
    event_type: str
    endpoint: int
    lead_id: str | None
    status: DeliveryStatus
    attempts: int
    next_at: float
    last_status: int | None
    last_error: str | None
    last_at: str | None
    delivered_at: str | None


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery to attempt now, with everything the attempt needs."""

    id: int
    event_id: str
    body: str
    endpoint: Endpoint
    failures: int
    """Failed attempts in a row so far: where it is on the retry schedule."""


@dataclass(frozen=True, slots=True)
class Result:
    """How one attempt went, as the store records it."""

    status: int | None
    """The HTTP status, or ``None`` when no answer came."""
    error: str | None
    """Why it failed; ``None`` when it succeeded."""
    duration_s: float
    next_in: float | None = None
    """Seconds before the next attempt after a failure; ``None``: the schedule is spent."""
    gone: bool = False
    """The receiver answered 410 Gone: it wants no more webhooks."""


_ENDPOINT = (
    "SELECT id, url, events, policy, state, disabled_reason, failing_since FROM webhook_endpoints"
)
_DELIVERY = (
    "SELECT d.id, d.event_id, e.type, d.endpoint, e.lead_id, d.status, d.attempts, d.next_at, "
    "d.last_status, d.last_error, d.last_at, d.delivered_at FROM webhook_deliveries d "
    "JOIN webhook_events e ON e.id = d.event_id"
)


def _endpoint(row: Sequence[Any]) -> Endpoint:
    return Endpoint(
        id=int(row[0]),
        url=str(row[1]),
        events=tuple(json.loads(row[2])),
        policy=EndpointPolicy.from_json(row[3]),
        state=EndpointState(row[4]),
        disabled_reason=row[5],
        failing_since=row[6],
    )


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=int(row[0]),
        event_id=str(row[1]),
        event_type=str(row[2]),
        endpoint=int(row[3]),
        lead_id=row[4],
        status=DeliveryStatus(row[5]),
        attempts=int(row[6]),
        next_at=float(row[7]),
        last_status=row[8],
        last_error=row[9],
        last_at=row[10],
        delivered_at=row[11],
    )


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    """The event types asked for, each one known; every type when none is given."""
    known = event_types()
    if not events:
        return known
    unknown = [e for e in events if e not in known]
    if unknown:
        raise UsageError(f"unknown event {unknown[0]!r}; choose from {', '.join(known)}")
    return tuple(dict.fromkeys(events))


@final
class WebhookStore:
    """Endpoints and deliveries, as tables in the run directory's ``journal.sqlite``."""

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, WEBHOOK_SCHEMA)

    # Endpoints

    def add(self, url: str, events: Sequence[str], policy: EndpointPolicy) -> Endpoint:
        """Register an endpoint for ``events`` (every type if empty)."""
        chosen = check_events(events)
        at = datetime.now(UTC).isoformat()
        endpoint_id = self.db.run_sync(
            lambda c: (
                c.execute(
                    "INSERT INTO webhook_endpoints (url, events, policy, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (url, json.dumps(chosen), policy.to_json(), at),
                ).lastrowid
            )
        )
        found = self.endpoint(int(endpoint_id or 0))
        assert found is not None
        return found

    def endpoints(self) -> list[Endpoint]:
        rows = self.db.run_sync(lambda c: c.execute(f"{_ENDPOINT} ORDER BY id").fetchall())
        return [_endpoint(row) for row in rows]

    def endpoint(self, endpoint_id: int) -> Endpoint | None:
        rows = self.db.run_sync(
            lambda c: c.execute(f"{_ENDPOINT} WHERE id = ?", (endpoint_id,)).fetchall()
        )
        return _endpoint(rows[0]) if rows else None

    def need(self, endpoint_id: int) -> Endpoint:
        """The endpoint, or one line saying it does not exist."""
        found = self.endpoint(endpoint_id)
        if found is None:
            raise UsageError(f"no webhook endpoint {endpoint_id}; see webhooks list")
        return found

    def remove(self, endpoint_id: int) -> None:
        """Forget an endpoint and its deliveries (their events stay for the others)."""
        self.need(endpoint_id)

        def write(c: sqlite3.Connection) -> None:
            c.execute(
                "DELETE FROM webhook_attempts WHERE delivery IN "
                "(SELECT id FROM webhook_deliveries WHERE endpoint = ?)",
                (endpoint_id,),
            )
            c.execute("DELETE FROM webhook_deliveries WHERE endpoint = ?", (endpoint_id,))
            c.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))

        self.db.run_sync(write)

    def enable(self, endpoint_id: int) -> None:
        """Send to a disabled endpoint again, from its pending deliveries on."""
        self.need(endpoint_id)
        self.db.run_sync(
            lambda c: c.execute(
                "UPDATE webhook_endpoints SET state = ?, disabled_reason = NULL, "
                "failing_since = NULL WHERE id = ?",
                (EndpointState.ENABLED.value, endpoint_id),
            )
        )

    # Deliveries

    def deliveries(
        self, *, endpoint: int | None = None, status: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        """The latest deliveries first; of one endpoint and with one status, when given."""
        where: list[str] = []
        params: list[object] = []
        if endpoint is not None:
            where.append("d.endpoint = ?")
            params.append(endpoint)
        if status is not None:
            where.append("d.status = ?")
            params.append(status)
        query = _DELIVERY + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.db.run_sync(
            lambda c: c.execute(query + " ORDER BY d.id DESC LIMIT ?", (*params, limit)).fetchall()
        )
        return [_delivery(row) for row in rows]

    def delivery(self, delivery_id: int) -> Delivery | None:
        rows = self.db.run_sync(
            lambda c: c.execute(f"{_DELIVERY} WHERE d.id = ?", (delivery_id,)).fetchall()
        )
        return _delivery(rows[0]) if rows else None

    def attempts(self, delivery_id: int) -> list[tuple[str, int | None, str | None, int]]:
        """``(at, status, error, duration_ms)`` of every attempt of a delivery, oldest first."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                "SELECT at, status, error, duration_ms FROM webhook_attempts WHERE delivery = ? "
                "ORDER BY rowid",
                (delivery_id,),
            ).fetchall()
        )
        return [(str(a), s, e, int(d)) for a, s, e, d in rows]

    def redeliver(self, delivery_id: int) -> Delivery:
        """Send a delivery again now, with a fresh schedule (the same ``webhook-id``)."""
        if self.delivery(delivery_id) is None:
            raise UsageError(f"no webhook delivery {delivery_id}; see webhooks deliveries")
        self.db.run_sync(
            lambda c: c.execute(
                "UPDATE webhook_deliveries SET status = ?, failures = 0, next_at = ? WHERE id = ?",
                (DeliveryStatus.PENDING.value, time.time(), delivery_id),
            )
        )
        found = self.delivery(delivery_id)
        assert found is not None
        return found

    def counts(self) -> dict[int, dict[str, int]]:
        """Deliveries by status, for each endpoint."""
        rows = self.db.run_sync(
            lambda c: c.execute(
                "SELECT endpoint, status, COUNT(*) FROM webhook_deliveries GROUP BY 1, 2"
            ).fetchall()
        )
        counts: dict[int, dict[str, int]] = {}
        for endpoint, status, count in rows:
            counts.setdefault(int(endpoint), {})[str(status)] = int(count)
        return counts

    # What the sender asks

    async def due(
        self, now: float, limit: int, *, busy: Sequence[int], held: Sequence[int]
    ) -> list[Due]:
        """Up to ``limit`` deliveries due at ``now``, oldest first, to enabled endpoints,
        leaving out ``busy`` deliveries (in flight) and ``held`` endpoints (breaker open)."""

        def read(c: sqlite3.Connection) -> list[Due]:
            query = (
                "SELECT d.id, d.event_id, e.body, d.failures, p.id, p.url, p.events, p.policy, "
                "p.state, p.disabled_reason, p.failing_since FROM webhook_deliveries d "
                "JOIN webhook_events e ON e.id = d.event_id "
                "JOIN webhook_endpoints p ON p.id = d.endpoint "
                "WHERE d.status = 'pending' AND d.next_at <= ? AND p.state = 'enabled'"
                f"{_not_in('d.id', busy)}{_not_in('p.id', held)} ORDER BY d.next_at LIMIT ?"
            )
            rows = c.execute(query, (now, *busy, *held, limit)).fetchall()
            return [Due(int(r[0]), str(r[1]), str(r[2]), _endpoint(r[4:]), int(r[3])) for r in rows]

        return await self.db.run(read)

    async def next_due(self, *, held: Sequence[int]) -> float | None:
        """When the next pending delivery to an enabled endpoint not ``held`` is due."""

        def read(c: sqlite3.Connection) -> float | None:
            row = c.execute(
                "SELECT MIN(d.next_at) FROM webhook_deliveries d "
                "JOIN webhook_endpoints p ON p.id = d.endpoint "
                f"WHERE d.status = 'pending' AND p.state = 'enabled'{_not_in('p.id', held)}",
                tuple(held),
            ).fetchone()
            return None if row[0] is None else float(row[0])

        return await self.db.run(read)

    async def record(self, due: Due, result: Result) -> None:
        """Record an attempt: delivered, scheduled again, or failed for good; and the
        endpoint's health, which disables it after ``disable_after`` of failures (or a 410)."""
        await self.db.run(lambda c: _record(c, due, result, time.time()))

    def close(self) -> None:
        self.db.close()


def _not_in(column: str, values: Sequence[int]) -> str:
    """``AND column NOT IN (?, ...)`` for ``values``; nothing when there are none."""
    return f" AND {column} NOT IN ({', '.join('?' * len(values))})" if values else ""


def _record(c: sqlite3.Connection, due: Due, result: Result, now: float) -> None:
    at = datetime.fromtimestamp(now, UTC).isoformat()
    c.execute(
        "INSERT INTO webhook_attempts (delivery, at, status, error, duration_ms) "
        "VALUES (?, ?, ?, ?, ?)",
        (due.id, at, result.status, result.error, round(result.duration_s * 1000)),
    )
    endpoint = due.endpoint.id
    if result.error is None:
        c.execute(
            "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, failures = 0, "
            "last_status = ?, last_error = NULL, last_at = ?, delivered_at = ? WHERE id = ?",
            (DeliveryStatus.DELIVERED.value, result.status, at, at, due.id),
        )
        c.execute("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?", (endpoint,))
        return
    spent = result.next_in is None
    c.execute(
        "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, "
        "failures = failures + 1, next_at = ?, last_status = ?, last_error = ?, last_at = ? "
        "WHERE id = ?",
        (
            (DeliveryStatus.FAILED if spent else DeliveryStatus.PENDING).value,
            now + (result.next_in or 0.0),
            result.status,
            result.error,
            at,
            due.id,
        ),
    )
    c.execute(
        "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ?",
        (now, endpoint),
    )
    (since,) = c.execute(
        "SELECT failing_since FROM webhook_endpoints WHERE id = ?", (endpoint,)
    ).fetchone() or (None,)
    reason = None
    if result.gone:
        reason = "it answered 410 Gone"
    elif since is not None and now - since >= due.endpoint.policy.disable_after:
        began = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
        reason = f"every attempt failed since {began}"
    if reason is not None:
        c.execute(
            "UPDATE webhook_endpoints SET state = ?, disabled_reason = ? "
            "WHERE id = ? AND state = ?",
            (EndpointState.DISABLED.value, reason, endpoint, EndpointState.ENABLED.value),
        )
