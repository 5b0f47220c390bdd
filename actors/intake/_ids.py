"""Lead ids: decided when a record is read, stable across runs.

A resumed run, the report and the trace all name a lead by its id, so the id of a
record must not change between runs: it is the record's own ``id`` when it has one,
otherwise a digest of its normalised email, otherwise its position in the input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

_MAX_ID_BITS = 800  # about 240 decimal digits: beyond that, a number is no id


def lead_id_for(fields: Mapping[str, object], record: int) -> str:
    """The lead id of the record at 1-based position ``record``. Never raises.

    - the ``id`` field, stripped, when it is non-empty text or a whole number;
    - else ``"L-"`` and 16 hex digits of the SHA-256 of the email, stripped and
      case-folded, so the same address gets the same id whatever its case;
    - else ``"record-N"``.
    """
    explicit = explicit_id(fields.get("id"))
    if explicit:
        return explicit
    email = fields.get("email")
    if isinstance(email, str) and (normalised := email.strip().casefold()):
        digest = hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()
        return f"L-{digest[:16]}"
    return f"record-{record}"


def explicit_id(value: object) -> str | None:
    """The id a record gives itself in ``value``, or ``None`` if that is no usable id."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if value.bit_length() <= _MAX_ID_BITS else None
    return None
