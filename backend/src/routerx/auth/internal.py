"""The shared credential between the admin API and the gateway's internal endpoints.

It is a setting of its own (ROUTERX_INTERNAL_TOKEN), not derived from any other secret, so
knowing JWT_SECRET (or its published example) says nothing about it. Without it the internal
endpoints answer nobody.
"""

from __future__ import annotations

import hmac

from routerx.settings import Settings

INTERNAL_HEADER = "x-routerx-internal"


def internal_token(settings: Settings) -> str:
    return settings.internal_token


def is_internal_token(settings: Settings, presented: str | None) -> bool:
    """Constant-time check of a presented `x-routerx-internal` header value."""
    expected = settings.internal_token
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
