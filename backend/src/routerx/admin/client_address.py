"""The address a sign-in comes from, for throttling and the audit log.

A direct caller's address is its socket's. A trusted proxy (TRUSTED_PROXIES: the console) passes
the address of its own client's socket in `x-routerx-client-address`, which it sets itself and
never copies from the request; the admin API believes that header only from a trusted proxy.
`X-Forwarded-For` is never read: a browser can send one of its own.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from routerx.settings import Settings

CLIENT_ADDRESS_HEADER = "x-routerx-client-address"
UNKNOWN_ADDRESS = "unknown"


def _normalized(raw: str) -> str | None:
    candidate = raw.strip()
    if candidate.startswith("::ffff:"):  # Node reports IPv4 peers of a dual-stack socket so
        candidate = candidate.removeprefix("::ffff:")
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def is_trusted_proxy(host: str | None, settings: Settings) -> bool:
    if host is None:
        return False
    if host in settings.trusted_proxies:
        return True
    address = _normalized(host)
    if address is None:
        return False
    for entry in settings.trusted_proxies:
        if "/" in entry:
            try:
                if ipaddress.ip_address(address) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def client_address(request: Request, settings: Settings) -> str:
    peer = request.client.host if request.client else None
    if peer is not None and is_trusted_proxy(peer, settings):
        forwarded = _normalized(request.headers.get(CLIENT_ADDRESS_HEADER, ""))
        if forwarded is not None:
            return forwarded
    return (_normalized(peer) if peer else None) or UNKNOWN_ADDRESS
