"""Per-tenant and per-key rate limits (requests and tokens per minute), shared via Redis.

limiter = build_limiter(settings.redis_url)       # await limiter.start() / stop()
decision = limiter.check_and_reserve(tenant.id, Limits.of(tenant), key.id,
                                     Limits.of(key), estimated_tokens)
...                                               # 429 unless decision.allowed
limiter.settle(decision.reservation, actual_total_tokens)
"""

from routerx.limits.decision import UNLIMITED, Decision, LimitName, Limits, Reservation, Scope
from routerx.limits.headers import format_reset
from routerx.limits.limiter import RateLimiter, Status, build_limiter
from routerx.limits.store import DEFAULT_KEY_PREFIX, RedisCountStore

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "UNLIMITED",
    "Decision",
    "LimitName",
    "Limits",
    "RateLimiter",
    "RedisCountStore",
    "Reservation",
    "Scope",
    "Status",
    "build_limiter",
    "format_reset",
]
