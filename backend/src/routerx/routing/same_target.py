"""Whether a transient failure is worth one more try at the same target before the next one.

A rule's `on_transient` chooses: `retry_same` (the default for configured rules: the caller
asked for that model) retries a 5xx, a 408 or a connection reset once on the same target after
a short jittered wait, and a 429/503/529 once after its `Retry-After` when that is short
(at most SAME_TARGET_MAX_WAIT_S; a longer wait fails over at once, without the header the wait
is jittered); `fail_over` moves to the next target at once. A timeout (a silent or stalled
provider), a rejected provider key or an unreadable answer always moves on at once.
"""

from __future__ import annotations

import random

from routerx.providers.errors import FailureKind, UpstreamError

RETRY_SAME = "retry_same"
FAIL_OVER = "fail_over"
SAME_TARGET_MAX_WAIT_S = 2.5
SAME_TARGET_MIN_WAIT_S = 0.05  # never a tight loop
SAME_TARGET_JITTER_S = 0.25
THROTTLED = frozenset({429, 503, 529})


def same_target_delay(failure: UpstreamError, rng: random.Random) -> float | None:
    """Seconds to wait before trying the same target again, or None to move on."""
    if failure.kind is FailureKind.STREAM:  # a reset before the answer started
        return _jittered(rng)
    if failure.kind is not FailureKind.HTTP or failure.is_provider_auth:
        return None
    status = failure.status
    if status is None:
        return None
    if status in THROTTLED:
        wait = failure.retry_after_s
        if wait is None:
            return _jittered(rng)
        return max(wait, SAME_TARGET_MIN_WAIT_S) if wait <= SAME_TARGET_MAX_WAIT_S else None
    if status >= 500 or status == 408:
        return _jittered(rng)
    return None


def _jittered(rng: random.Random) -> float:
    return SAME_TARGET_MIN_WAIT_S + rng.random() * SAME_TARGET_JITTER_S
