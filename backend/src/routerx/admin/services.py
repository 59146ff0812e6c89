"""What every admin handler may use besides the database, built once per app."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from routerx.admin.gateway_client import GatewayClient
from routerx.admin.throttle import LoginThrottle, build_throttle
from routerx.auth.internal import internal_token
from routerx.auth.passwords import DEFAULT_ADMIN_PASSWORD, verify_password_async
from routerx.settings import Settings


class DefaultPasswordCheck:
    """Whether a password hash is still the seeded default, remembered per hash.

    Every hash has its own salt, so a changed password is a new hash and a new answer; caching
    spares an argon2 verification on every `GET /auth/me`.
    """

    MAX_ENTRIES = 1024

    def __init__(self) -> None:
        self._answers: OrderedDict[str, bool] = OrderedDict()

    async def is_default(self, password_hash: str) -> bool:
        answer = self._answers.get(password_hash)
        if answer is None:
            answer = await verify_password_async(password_hash, DEFAULT_ADMIN_PASSWORD)
            self._answers[password_hash] = answer
            if len(self._answers) > self.MAX_ENTRIES:
                self._answers.popitem(last=False)
        return answer


@dataclass(slots=True)
class AdminServices:
    settings: Settings
    throttle: LoginThrottle
    gateway: GatewayClient
    default_passwords: DefaultPasswordCheck
    openapi_document: bytes

    @classmethod
    def create(cls, settings: Settings, openapi_document: bytes) -> AdminServices:
        return cls(
            settings=settings,
            openapi_document=openapi_document,
            throttle=build_throttle(settings.redis_url, settings.login_throttle_key_prefix),
            gateway=GatewayClient(settings.gateway_internal_url, internal_token(settings)),
            default_passwords=DefaultPasswordCheck(),
        )

    async def close(self) -> None:
        await self.gateway.close()
        await self.throttle.close()
