"""OpenAI's x-ratelimit-* response headers, built from the tightest applicable window.

Built on every limited response, hence written out without helper calls.
"""

from __future__ import annotations

import math

from routerx.limits.window import MINUTE_S, Window

Headers = list[tuple[bytes, bytes]]

LIMIT_REQUESTS = b"x-ratelimit-limit-requests"
REMAINING_REQUESTS = b"x-ratelimit-remaining-requests"
RESET_REQUESTS = b"x-ratelimit-reset-requests"
LIMIT_TOKENS = b"x-ratelimit-limit-tokens"
REMAINING_TOKENS = b"x-ratelimit-remaining-tokens"
RESET_TOKENS = b"x-ratelimit-reset-tokens"


def _go_duration(total_s: int) -> bytes:
    minutes, seconds = divmod(total_s, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return b"%dh%dm%ds" % (hours, minutes, seconds)
    if minutes:
        return b"%dm%ds" % (minutes, seconds)
    return b"%ds" % seconds


# Resets never exceed two minutes; everything up to an hour is precomputed all the same.
_WHOLE_SECONDS = tuple(_go_duration(total_s) for total_s in range(3601))


def format_reset(seconds: float) -> bytes:
    """A duration the way OpenAI writes it (Go's format): `20ms`, `1s`, `59s`, `1m0s`.

    Rounded up, to milliseconds below a second and to whole seconds above, so that a
    client waiting that long is never early.
    """
    if seconds >= 1.0:
        whole = math.ceil(seconds)
        return _WHOLE_SECONDS[whole] if whole <= 3600 else _go_duration(whole)
    milliseconds = math.ceil(seconds * 1000)
    if milliseconds <= 0:
        return b"0s"
    return b"%dms" % milliseconds if milliseconds < 1000 else b"1s"


def _reset_after(previous: int, current: int, offset: float) -> float:
    """Seconds until a window is back to its full limit if nothing else is counted."""
    if current:
        return 2 * MINUTE_S - offset
    return MINUTE_S - offset if previous else 0.0


def rate_limit_headers(
    carry: float,
    offset: float,
    tenant: Window | None,
    tenant_rpm: int | None,
    tenant_tpm: int | None,
    key: Window | None,
    key_rpm: int | None,
    key_tpm: int | None,
) -> Headers:
    """Per dimension, the limit, remaining and reset of the scope with the least remaining.

    A dimension no scope limits gets no headers. `carry` is the weight of the previous
    minute, `offset` the seconds into the current one; a window is given for each scope
    that has any limit.
    """
    headers: Headers = []

    limit, remaining, window = 0, 0.0, None
    if key is not None and key_rpm is not None:
        limit, remaining, window = key_rpm, key_rpm - key.prev_requests * carry - key.requests, key
    if tenant is not None and tenant_rpm is not None:
        left = tenant_rpm - tenant.prev_requests * carry - tenant.requests
        if window is None or left < remaining:
            limit, remaining, window = tenant_rpm, left, tenant
    if window is not None:
        reset = _reset_after(window.prev_requests, window.requests, offset)
        headers.append((LIMIT_REQUESTS, b"%d" % limit))
        headers.append((REMAINING_REQUESTS, b"%d" % remaining if remaining > 0 else b"0"))
        headers.append((RESET_REQUESTS, format_reset(reset)))

    limit, remaining, window = 0, 0.0, None
    if key is not None and key_tpm is not None:
        limit, remaining, window = key_tpm, key_tpm - key.prev_tokens * carry - key.tokens, key
    if tenant is not None and tenant_tpm is not None:
        left = tenant_tpm - tenant.prev_tokens * carry - tenant.tokens
        if window is None or left < remaining:
            limit, remaining, window = tenant_tpm, left, tenant
    if window is not None:
        reset = _reset_after(window.prev_tokens, window.tokens, offset)
        headers.append((LIMIT_TOKENS, b"%d" % limit))
        headers.append((REMAINING_TOKENS, b"%d" % remaining if remaining > 0 else b"0"))
        headers.append((RESET_TOKENS, format_reset(reset)))
    return headers
