"""Requests in flight at once per tenant and per key (`max_concurrency`), in this gateway
process: the cap that a per-minute rate cannot give, since a few slow requests (long streams,
large bodies) can hold a worker as surely as many fast ones.

A slot is taken right after authentication, before the body is read, and given back first
when the request ends, whatever its outcome. Over a cap the request is refused with a 429 and
`Retry-After`; nothing is queued.
"""

from __future__ import annotations

from routerx.core.snapshot import KeyEntry
from routerx.gateway.errors import GatewayError
from routerx.telemetry import metrics

RETRY_AFTER_S = 1
CONCURRENCY_LIMIT = "concurrency_limit_exceeded"


def concurrency_limited(scope: str, limit: int) -> GatewayError:
    return GatewayError(
        429,
        f"Too many concurrent requests: the {scope} allows {limit} at once. Retry after the "
        "given time.",
        "rate_limit_error",
        None,
        CONCURRENCY_LIMIT,
        {"retry-after": str(RETRY_AFTER_S)},
    )


class ConcurrencySlot:
    """One request's place in its tenant's and key's counts; `release()` is idempotent."""

    __slots__ = ("_limiter", "key_id", "tenant_id")

    def __init__(self, limiter: ConcurrencyLimiter, tenant_id: int | None, key_id: int | None):
        self._limiter = limiter
        self.tenant_id = tenant_id
        self.key_id = key_id

    def release(self) -> None:
        limiter = self._limiter
        if self.tenant_id is not None:
            limiter.give_back(limiter.tenants, self.tenant_id)
            self.tenant_id = None
        if self.key_id is not None:
            limiter.give_back(limiter.keys, self.key_id)
            self.key_id = None


class ConcurrencyLimiter:
    """In-flight counts of capped tenants and keys only: uncapped ones cost nothing."""

    __slots__ = ("keys", "tenants")

    def __init__(self) -> None:
        self.tenants: dict[int, int] = {}
        self.keys: dict[int, int] = {}

    def acquire(self, key: KeyEntry) -> ConcurrencySlot | None:
        """A slot for a request made with `key`, None when neither it nor its tenant has a
        cap; GatewayError (429) when either is at its cap."""
        tenant_cap, key_cap = key.tenant.max_concurrency, key.max_concurrency
        if tenant_cap is None and key_cap is None:
            return None
        tenant_id = key.tenant.id
        if tenant_cap is not None and self.tenants.get(tenant_id, 0) >= tenant_cap:
            metrics.OVERLOAD_REFUSALS.labels(CONCURRENCY_LIMIT).inc()
            raise concurrency_limited("tenant", tenant_cap)
        if key_cap is not None and self.keys.get(key.id, 0) >= key_cap:
            metrics.OVERLOAD_REFUSALS.labels(CONCURRENCY_LIMIT).inc()
            raise concurrency_limited("key", key_cap)
        slot = ConcurrencySlot(self, None, None)
        if tenant_cap is not None:
            self.tenants[tenant_id] = self.tenants.get(tenant_id, 0) + 1
            slot.tenant_id = tenant_id
        if key_cap is not None:
            self.keys[key.id] = self.keys.get(key.id, 0) + 1
            slot.key_id = key.id
        return slot

    @staticmethod
    def give_back(counts: dict[int, int], entry_id: int) -> None:
        left = counts.get(entry_id, 0) - 1
        if left > 0:
            counts[entry_id] = left
        else:
            counts.pop(entry_id, None)
