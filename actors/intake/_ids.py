"""Lead ids and fingerprints: decided when a record is read, stable across runs and files.

A run directory keys every record by its lead's identity, never by where it sat in a
file: the id is the record's own ``id`` when it has one, otherwise a digest of its
normalised email, otherwise a digest of its content. The fingerprint is a digest of the
content, so that the same id submitted again with other content is told apart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from actors.intake._record import COLUMNS
from actors.intake._syntax import normalise_email

_MAX_ID_BITS = 800  # about 240 decimal digits: beyond that, a number is no id


def lead_id_for(fields: Mapping[str, object]) -> str:
    """The lead id of a record's fields. Never raises.

    - the ``id`` field, stripped, when it is non-empty text or a whole number;
    - else ``"L-"`` and 16 hex digits of the SHA-256 of the email, normalised
      (``normalise_email``: NFKC, lower case, an IDNA domain) and case-folded, so the same
      address gets the same id however it is written;
    - else ``"R-"`` and the first 16 hex digits of the record's fingerprint, so the same
      content gets the same id in any file, at any position.
    """
    explicit = explicit_id(fields.get("id"))
    if explicit:
        return explicit
    email = fields.get("email")
    if isinstance(email, str) and (normalised := _identity(email)):
        digest = hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()
        return f"L-{digest[:16]}"
    return f"R-{fingerprint(fields)[:16]}"


def _identity(email: str) -> str:
    """What an email's lead id is a digest of: its normalised form, case-folded."""
    return (normalise_email(email) or email.strip()).casefold()


def fingerprint(fields: Mapping[str, object]) -> str:
    """A digest of a record's content: its known columns, stripped, blanks left out.

    The same lead read from a CSV (every value text) or from JSONL (numbers as numbers)
    has one fingerprint; any change to a value gives another.
    """
    content = {
        column: text
        for column in COLUMNS
        if (value := fields.get(column)) is not None and (text := str(value).strip())
    }
    error = fields.get("_error")
    if error is not None:
        content["_error"] = str(error)
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


def explicit_id(value: object) -> str | None:
    """The id a record gives itself in ``value``, or ``None`` if that is no usable id."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if value.bit_length() <= _MAX_ID_BITS else None
    return None
