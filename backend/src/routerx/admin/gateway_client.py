"""The admin API's client for the running gateway's internal endpoints.

Live breaker state and the rule tester's answer exist only inside the gateway process, so the
admin API asks it: `GET /internal/breakers`, `POST /internal/breakers/{provider}/reset` and
`POST /internal/route-explain`, each with the `x-routerx-internal` header; routerx.wire.internal
holds that contract. The gateway's address is Settings.gateway_internal_url (GATEWAY_INTERNAL_URL).
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import quote

import aiohttp
import msgspec

from routerx.auth.internal import INTERNAL_HEADER
from routerx.wire.internal import (
    GatewayBreaker,
    GatewayBreakers,
    RouteExplainRequest,
    RouteExplanation,
)

TIMEOUT_S = 3.0

T = TypeVar("T")


class GatewayUnavailable(Exception):
    """The gateway did not answer, or answered something outside the contract."""


class GatewayClient:
    def __init__(self, base_url: str, token: str, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {INTERNAL_HEADER: token}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"content-type": "application/json"} if body is not None else {}
        try:
            async with self._client().request(
                method, self.base_url + path, data=body, headers=headers
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GatewayUnavailable(
                f"gateway at {self.base_url} unreachable: {type(exc).__name__}"
            ) from None

    def _decode(self, status: int, payload: bytes, into: type[T], what: str) -> T:
        if status != 200:
            raise GatewayUnavailable(f"gateway answered {what} with HTTP {status}")
        try:
            return msgspec.json.decode(payload, type=into)
        except msgspec.DecodeError:
            raise GatewayUnavailable(f"gateway sent an unexpected {what} body") from None

    async def breakers(self) -> dict[str, GatewayBreaker]:
        status, payload = await self._call("GET", "/internal/breakers")
        return self._decode(status, payload, GatewayBreakers, "breakers").breakers

    async def reset_breaker(self, provider: str) -> bool:
        """Reset one provider's breaker; False when the gateway has no breaker for it yet."""
        status, _ = await self._call("POST", f"/internal/breakers/{quote(provider, safe='')}/reset")
        if status == 404:
            return False
        if not 200 <= status < 300:
            raise GatewayUnavailable(f"gateway answered the breaker reset with HTTP {status}")
        return True

    async def explain_route(self, request: RouteExplainRequest) -> RouteExplanation:
        status, payload = await self._call(
            "POST", "/internal/route-explain", msgspec.json.encode(request)
        )
        return self._decode(status, payload, RouteExplanation, "route explanation")
