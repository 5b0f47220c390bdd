"""The web source's guard against server-side request forgery, after DNS resolution.

A lead's website and domain are untrusted input, and so is every redirect a site sends:
any of them could aim the source at a host inside the network it runs in. So a host is
resolved first, and refused when any of its addresses is loopback, private, link-local,
multicast, reserved, unspecified, or a cloud metadata service; the request then goes to
the address that was checked, never to a second resolution (DNS rebinding).

``allow_private`` (``--allow-private-sources``) lets loopback, private and link-local
addresses through, for an intranet or a test server on this machine; the metadata
addresses stay refused even then, because reaching them leaks the host's credentials.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Protocol, final

import anyio

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS DNS resolver
        "168.63.129.16",  # Azure wire server
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
"""Cloud metadata services: refused even with ``allow_private``."""


class Resolver(Protocol):
    """Finds the addresses of a host name; the seam the tests fill with fixed answers."""

    async def resolve(self, host: str, port: int) -> tuple[IpAddress, ...]:
        """Every address of ``host``; raise ``OSError`` when it has none."""
        ...


@final
class SystemResolver:
    """The operating system's resolver, through ``anyio.getaddrinfo``."""

    async def resolve(self, host: str, port: int) -> tuple[IpAddress, ...]:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return tuple(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


@final
class StaticResolver:
    """Fixed answers, by host name: a real resolver for names a test or an operator pins.

    A name it does not know has no address (``OSError``), as an unknown host would.
    """

    def __init__(self, addresses: Mapping[str, str | Sequence[str]]) -> None:
        self._addresses = {
            name.casefold(): tuple(
                ipaddress.ip_address(a) for a in ((found,) if isinstance(found, str) else found)
            )
            for name, found in addresses.items()
        }

    async def resolve(self, host: str, port: int) -> tuple[IpAddress, ...]:
        found = self._addresses.get(host.casefold())
        if not found:
            raise OSError(f"no address for {host}")
        return found


def refusal(address: IpAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` may not be fetched, in a few words, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    local = address.is_loopback or address.is_link_local
    if not local and address.is_reserved:
        return "a reserved address"
    private = (
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a private address", address.is_private),
    )
    for words, matches in private:
        if matches:
            return None if allow_private else words
    if not address.is_global:
        return "a reserved address"
    return None


async def checked_address(
    resolver: Resolver, host: str, port: int, *, allow_private: bool
) -> IpAddress | str:
    """The address to connect to for ``host``, or why there is none a request may use."""
    literal = True
    try:
        addresses: tuple[IpAddress, ...] = (ipaddress.ip_address(host.strip("[]")),)
    except ValueError:
        literal = False
        try:
            addresses = await resolver.resolve(host, port)
        except OSError as exc:
            return f"{host} could not be resolved ({exc.strerror or exc})"
    if not addresses:
        return f"{host} could not be resolved (no address)"
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            where = f"{address} is" if literal else f"{host} resolves to {address},"
            if refusal(address, allow_private=True) is None:
                return f"{where} {reason}, not fetched without --allow-private-sources"
            return f"{where} {reason}, which is never fetched"
    return addresses[0]
