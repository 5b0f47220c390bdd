"""Websites and countries as exports write them, made into what research and the ICP read."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

import pycountry

_COUNTRY_ALIASES = {
    "UK": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "GREAT BRITAIN": "GB",
    "RUSSIA": "RU",
    "SOUTH KOREA": "KR",
    "NORTH KOREA": "KP",
    "VIETNAM": "VN",
    "TAIWAN": "TW",
    "IRAN": "IR",
    "SYRIA": "SY",
    "BOLIVIA": "BO",
    "VENEZUELA": "VE",
    "TANZANIA": "TZ",
    "MOLDOVA": "MD",
    "LAOS": "LA",
}
"""Names in common use that ISO 3166 spells otherwise."""


def web_address(text: str) -> tuple[str, str] | None:
    """``text`` as an absolute http(s) URL and its lower-case host, or None if it is none.

    A bare host (``acme.com``, ``www.acme.com:8443/en``) gets ``https://``. The port and
    path are kept: research starts there.
    """
    if not text or any(c.isspace() for c in text):
        return None
    candidate = text if "://" in text else f"https://{text}"
    try:
        parts = urlsplit(candidate)
        port = parts.port  # raises ValueError for a port that is no number or out of range
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme.lower() not in ("http", "https") or not host or parts.username is not None:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{netloc}{path}{query}", host


@functools.lru_cache(maxsize=1024)
def country_code(text: str) -> str:
    """The ISO 3166 alpha-2 code of a country name or code (``Germany``, ``DEU``,
    ``United States``, ``UK``), or the text upper-cased when it names none."""
    shown = " ".join(text.split()).upper()
    if not shown:
        return ""
    if shown in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[shown]
    for name in (shown, shown.removeprefix("THE ")):
        try:
            return str(pycountry.countries.lookup(name).alpha_2)
        except LookupError:
            continue
    return shown
