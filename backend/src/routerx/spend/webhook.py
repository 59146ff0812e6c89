"""Budget alert webhooks: JSON POSTs, retried with backoff, to public addresses only.

Like image fetches, the address a host name resolves to is checked before connecting (no
requests to loopback, private or link-local networks) unless it is in the explicit allow-list
(`SPEND_WEBHOOK_ALLOW_NETWORKS`, for a receiver on an internal host).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
from yarl import URL

from routerx.core.outbound_guard import GuardedResolver, Resolve, address_allowed, system_resolve

log = logging.getLogger("routerx.spend")
Sleep = Callable[[float], Awaitable[None]]


class ForbiddenWebhookAddress(Exception):
    pass


class WebhookSender:
    def __init__(
        self,
        *,
        allowed_networks: Iterable[str] = (),
        resolve: Resolve = system_resolve,
        attempts: int = 5,
        first_backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.allowed = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks)
        self.resolve = resolve
        self.attempts = attempts
        self.first_backoff_s = first_backoff_s
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    def check_address(self, raw: str) -> None:
        if not address_allowed(raw, self.allowed):
            raise ForbiddenWebhookAddress(raw)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self), use_dns_cache=False)
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            )
        return self._session

    async def post(self, url: str, payload: dict[str, Any]) -> bool:
        """POST until a 2xx answer, with exponential backoff; False once every try failed or
        the address is forbidden (never retried)."""
        target = URL(url)
        if target.scheme not in {"http", "https"} or not target.host:
            log.warning("budget webhook skipped: not an http(s) URL")
            return False
        backoff = self.first_backoff_s
        for attempt in range(1, self.attempts + 1):
            try:
                self._check_literal(target)
                async with self._client().post(
                    target, json=payload, allow_redirects=False
                ) as response:
                    if 200 <= response.status < 300:
                        return True
                    reason = f"status {response.status}"
            except ForbiddenWebhookAddress:
                log.warning("budget webhook refused: %s is not a public address", target.host)
                return False
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = type(exc).__name__
            if attempt < self.attempts:
                log.info("budget webhook try %d failed (%s), retrying", attempt, reason)
                await self._sleep(backoff)
                backoff *= 2
        log.warning("budget webhook gave up after %d tries", self.attempts)
        return False

    def _check_literal(self, target: URL) -> None:
        host = target.host or ""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # a host name: the resolver checks what it resolves to
        self.check_address(host)  # aiohttp skips the resolver for literal addresses

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
