"""The URLs the server builds for a lead: its id percent-encoded, whatever it holds.

A lead's id is the record's own (any text intake accepts: spaces, ``/``, ``?``, ``#``,
non-Latin letters, emoji) or one derived from its email. Every path, ``Location`` header
and link the server builds from an id encodes it with ``segment`` (every character but
the unreserved ones), and the routes that take an id accept an encoded ``/`` in it. The
console's templates use the ``segment`` filter: ``/leads/{{ item.lead_id|segment }}``.
"""

from __future__ import annotations

from urllib.parse import quote


def segment(value: object) -> str:
    """``value`` as one path segment: every character but ``A-Z a-z 0-9 - . _ ~`` encoded."""
    return quote(str(value), safe="")


def api_lead(lead_id: str) -> str:
    """The API's URL of a lead: ``/v1/leads/<id>``."""
    return f"/v1/leads/{segment(lead_id)}"


def console_lead(lead_id: str) -> str:
    """The console's page of a lead: ``/leads/<id>``."""
    return f"/leads/{segment(lead_id)}"
