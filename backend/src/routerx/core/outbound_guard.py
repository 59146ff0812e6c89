"""Outbound connections to hosts that a request or a setting names (image URLs, budget
webhooks): every address a host resolves to is checked before aiohttp connects to it, so that
neither a redirect nor DNS rebinding reaches a private address.

An owner (the image fetcher, the webhook sender) supplies how it resolves and which addresses
it refuses; the resolver here is what its aiohttp connector connects through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp.abc import AbstractResolver, ResolveResult

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolve = Callable[[str, int], Awaitable[list[str]]]


def is_public_address(address: IPAddress) -> bool:
    """True for addresses reachable on the public internet; IPv4 embedded in IPv6 is unwrapped."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def address_allowed(raw: str, allowed: tuple[IPNetwork, ...]) -> bool:
    """A resolved address (an IPv6 zone id ignored): public, or in one of `allowed`."""
    try:
        address = ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        return False
    return any(address in network for network in allowed) or is_public_address(address)


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressPolicy(Protocol):
    resolve: Resolve

    def check_address(self, raw: str) -> None:
        """Raise (the owner's own error) for an address that must not be connected to."""


class GuardedResolver(AbstractResolver):
    """The connector's resolver: what it returns is what aiohttp connects to."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        # A lookup failure (OSError) surfaces from aiohttp as a connector error: "could not
        # be reached", not "forbidden".
        addresses = await self._policy.resolve(host, port)
        if not addresses:
            raise OSError(f"no address for {host}")
        for address in addresses:
            self._policy.check_address(address)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None
