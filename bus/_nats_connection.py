"""The connection to the NATS server: refused in one line at first, waited for ever after.

A process that cannot reach the server when it starts is misconfigured (a wrong
``--bus``, a wrong password, no server), and says so. Once connected, a lost server is a
restart or a network blip: the client reconnects on its own, however long it takes.
"""

from __future__ import annotations

import nats
import nats.errors
from nats.aio.client import Client

from messages import UsageError

CONNECT_RETRIES = 1
"""Retries of the first connection, two seconds apart, before ``connect`` gives up."""


async def open_connection(
    url: str, *, user: str | None, password: str | None, name: str, errors: list[Exception]
) -> Client:
    """Connect as ``name``, or raise ``UsageError`` naming the cause and the fix.

    ``name`` also names the connection's inbox prefix (``_INBOX_<name>``), so that a
    role's server permissions can keep other roles from reading its replies. What the
    server reports to the connection later, such as permissions violations, is appended
    to ``errors``.
    """

    async def note(error: Exception) -> None:
        errors.append(error)

    try:
        client = await nats.connect(
            servers=[url],
            user=user,
            password=password,
            name=name,
            inbox_prefix=f"_INBOX_{name}",
            max_reconnect_attempts=CONNECT_RETRIES,
            error_cb=note,
        )
    except (OSError, nats.errors.Error) as exc:
        cause = errors[-1] if errors else exc
        raise UsageError(
            f"Cannot connect to NATS at {url} ({cause or type(cause).__name__}); "
            "start nats-server there, or fix --bus and the credentials"
        ) from None
    client.options["max_reconnect_attempts"] = -1
    return client
