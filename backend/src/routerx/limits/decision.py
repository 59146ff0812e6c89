"""What the gateway passes to the limiter and gets back from it."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from routerx.limits.headers import Headers
from routerx.limits.window import Window

Scope = Literal["tenant", "key"]
LimitName = Literal["rpm", "tpm"]


class _HasLimits(Protocol):
    @property
    def rpm_limit(self) -> int | None: ...

    @property
    def tpm_limit(self) -> int | None: ...


class Limits(msgspec.Struct, frozen=True):
    """Requests and tokens per minute for one tenant or key; None is unlimited."""

    rpm: int | None = None
    tpm: int | None = None

    @classmethod
    def of(cls, entry: _HasLimits) -> Limits:
        """The limits of a snapshot TenantEntry or KeyEntry."""
        return cls(entry.rpm_limit, entry.tpm_limit)


UNLIMITED = Limits()


class Reservation:
    """What a request was counted as, so that `settle` can correct its tokens."""

    __slots__ = ("key", "minute", "settled", "tenant", "tokens")

    def __init__(self, tenant: Window | None, key: Window | None, minute: int, tokens: int) -> None:
        self.tenant = tenant
        self.key = key
        self.minute = minute
        self.tokens = tokens
        self.settled = False


class Decision(msgspec.Struct, frozen=True):
    allowed: bool
    reservation: Reservation | None
    """Pass to `settle` once the request is over; None when refused or unlimited."""
    retry_after_s: float | None
    """When refused: seconds until a retry would fit. None if the request can never fit
    (its token estimate alone exceeds a tokens-per-minute limit), or when allowed."""
    scope: Scope | None
    """When refused: whose limit refused it."""
    limit: LimitName | None
    """When refused: which limit refused it."""
    headers: Headers
    """x-ratelimit-* headers for the response (the tightest scope per dimension)."""
