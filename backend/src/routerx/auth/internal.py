"""The shared secret header between the admin API and the gateway's internal endpoints."""

from __future__ import annotations

import hashlib
import hmac

from routerx.settings import Settings

INTERNAL_HEADER = "x-routerx-internal"


def internal_token(settings: Settings) -> str:
    """Derived from JWT_SECRET, so both processes agree without another setting."""
    return hmac.new(settings.jwt_secret.encode(), b"routerx-internal", hashlib.sha256).hexdigest()


def is_internal_token(settings: Settings, presented: str | None) -> bool:
    """Constant-time check of a presented `x-routerx-internal` header value."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), internal_token(settings).encode())
