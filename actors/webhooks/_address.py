"""Where a webhook may go: an ``http(s)`` URL whose host is public, unless allowed.

The URL is checked when an endpoint is added and again, after DNS resolution, before every
attempt: a host name must have at least two labels and not end in a local-network name,
and every address it resolves to must pass the web source's guard (``_web_guard``: not
loopback, private, link-local, multicast or reserved). ``allow_private`` lifts
both checks, for a receiver on this machine or the local network; a cloud metadata address
stays refused even then. The request then goes to the address that was checked, so a
second resolution cannot point it elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio

from actors.evidence import IpAddress, refusal
from messages import UsageError

_LOCAL_NAMES = frozenset({"localhost", "local", "internal", "intranet", "lan", "home", "corp"})
"""Last labels that name a machine or the local network, never a public receiver."""


class EndpointRefused(UsageError):
    """An endpoint's URL, or what its host resolves to, may not receive webhooks."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL, split into what a request needs."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    """The path and query, at least ``/``."""


def check_url(url: str, *, allow_private: bool) -> Target:
    """``url`` as a target, or ``EndpointRefused`` saying why it cannot be one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise EndpointRefused(
            f"{url!r} is not a URL; pass one such as https://example.com/hook"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointRefused(f"{url!r} is not an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused(
            f"the URL of {parts.hostname} holds a user name or password; webhooks are signed, "
            "so leave credentials out of the URL"
        )
    host = parts.hostname
    if not allow_private:
        _check_name(host)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default = 443 if parts.scheme == "https" else 80
    return Target(url.strip(), parts.scheme, host, port or default, path)


def _check_name(host: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        labels = host.lower().removesuffix(".").split(".")
        if len(labels) < 2 or labels[-1] in _LOCAL_NAMES or labels[-1].isdigit():
            raise EndpointRefused(
                f"{host} is not a public host name; pass --allow-private for a receiver on "
                "this machine or the local network"
            ) from None
        return
    _check_address(address, allow_private=False, host=host)


def _check_address(address: IpAddress, *, allow_private: bool, host: str) -> None:
    reason = refusal(address, allow_private=allow_private)
    if reason is None:
        return
    what = host if host == str(address) else f"{host} resolves to {address}, which"
    if refusal(address, allow_private=True) is not None:
        raise EndpointRefused(f"{what} is {reason}, never a webhook's target")
    raise EndpointRefused(
        f"{what} is {reason}; pass --allow-private for a receiver on this machine or the "
        "local network"
    )


async def resolve(target: Target, *, allow_private: bool) -> str:
    """The address to send to: the host's first, once every one of them is checked."""
    try:
        infos = await anyio.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise EndpointRefused(f"{target.host} does not resolve ({exc.strerror or exc})") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise EndpointRefused(f"{target.host} resolves to no address")
    for address in addresses:
        _check_address(address, allow_private=allow_private, host=target.host)
    return str(addresses[0])
