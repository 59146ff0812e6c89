"""One subject's request and token counts over a sliding minute.

The window is the sliding-window approximation: usage "in the last 60 s" is the current
wall-clock minute's count plus the previous minute's count weighted by the share of that
minute still inside the last 60 s (as if it had been spread evenly). It was chosen over
GCRA or a token bucket because its state is plain sums: the counts of many processes merge
exactly by addition in Redis, in any order, whereas a bucket's level or a theoretical
arrival time does not merge from per-process deltas. Minutes are wall-clock minutes so
that every process and replica agrees on them.
"""

from __future__ import annotations

MINUTE_S = 60.0

# Refused requests get a retry time this much past the exact boundary, so that a retry
# at exactly `retry_after_s` is not refused again by floating-point rounding.
_RETRY_MARGIN_S = 0.001

Counts = tuple[int, int, int, int]
"""(requests, tokens) of the current minute, then (requests, tokens) of the previous one."""


class Window:
    """Counts of the current and previous minute: shared (as of the last sync) plus local.

    `requests`/`tokens` are what this process decides with; `unsent_*` is the part of them
    counted here since the last push to the shared store. A window used since the last
    sync round is listed in `used_list` (when sharing), for the next round to push and pull.
    """

    __slots__ = (
        "minute",
        "name",
        "prev_requests",
        "prev_tokens",
        "requests",
        "subject",
        "tokens",
        "unsent_prev_requests",
        "unsent_prev_tokens",
        "unsent_requests",
        "unsent_tokens",
        "used",
        "used_list",
    )

    def __init__(
        self, subject: int | str, name: str, minute: int, used_list: list[Window] | None
    ) -> None:
        self.subject = subject
        self.name = name
        self.minute = minute
        self.requests = self.tokens = self.prev_requests = self.prev_tokens = 0
        self.unsent_requests = self.unsent_tokens = 0
        self.unsent_prev_requests = self.unsent_prev_tokens = 0
        self.used = True
        self.used_list = used_list
        if used_list is not None:
            used_list.append(self)

    def mark_used(self) -> None:
        if not self.used:  # only a sync round clears it, so there is a list to join
            self.used = True
            assert self.used_list is not None
            self.used_list.append(self)

    def roll(self, minute: int) -> None:
        """Moves the window forward to `minute` (never backwards)."""
        if minute <= self.minute:
            return
        if minute == self.minute + 1:
            self.prev_requests, self.prev_tokens = self.requests, self.tokens
            self.unsent_prev_requests = self.unsent_requests
            self.unsent_prev_tokens = self.unsent_tokens
        else:
            self.prev_requests = self.prev_tokens = 0
            self.unsent_prev_requests = self.unsent_prev_tokens = 0
        self.requests = self.tokens = self.unsent_requests = self.unsent_tokens = 0
        self.minute = minute

    def count(self, tokens: int) -> None:
        self.requests += 1
        self.tokens += tokens
        self.unsent_requests += 1
        self.unsent_tokens += tokens

    def adjust_tokens(self, minute: int, delta: int) -> None:
        """Adds `delta` tokens to `minute`, if it is still one of the two held here."""
        self.mark_used()
        if minute == self.minute:
            self.tokens = max(self.tokens + delta, 0)
            self.unsent_tokens += delta
        elif minute == self.minute - 1:
            self.prev_tokens = max(self.prev_tokens + delta, 0)
            self.unsent_prev_tokens += delta

    def take_unsent(self) -> Counts:
        unsent = (
            self.unsent_requests,
            self.unsent_tokens,
            self.unsent_prev_requests,
            self.unsent_prev_tokens,
        )
        self.unsent_requests = self.unsent_tokens = 0
        self.unsent_prev_requests = self.unsent_prev_tokens = 0
        return unsent

    def restore_unsent(self, minute: int, unsent: Counts) -> None:
        """Puts back counts taken for a push to `minute` that did not reach the store."""
        self.mark_used()
        requests, tokens, prev_requests, prev_tokens = unsent
        if self.minute == minute:
            self.unsent_requests += requests
            self.unsent_tokens += tokens
            self.unsent_prev_requests += prev_requests
            self.unsent_prev_tokens += prev_tokens
        elif self.minute == minute + 1:
            self.unsent_prev_requests += requests
            self.unsent_prev_tokens += tokens

    def apply_shared(self, minute: int, totals: Counts) -> None:
        """Adopts the store's totals for `minute` (which include our pushed counts)."""
        requests, tokens, prev_requests, prev_tokens = totals
        if self.minute == minute:
            self.requests = requests + self.unsent_requests
            self.tokens = max(tokens + self.unsent_tokens, 0)
            self.prev_requests = prev_requests + self.unsent_prev_requests
            self.prev_tokens = max(prev_tokens + self.unsent_prev_tokens, 0)
        elif self.minute == minute + 1:  # the minute turned while the sync was in flight
            self.prev_requests = requests + self.unsent_prev_requests
            self.prev_tokens = max(tokens + self.unsent_prev_tokens, 0)


def wait_to_fit(previous: int, current: int, cost: int, limit: int, offset: float) -> float | None:
    """Seconds until `cost` more fits under `limit` if nothing else is counted meanwhile.

    `offset` is how far (seconds) the clock is into the current minute. None if `cost`
    alone exceeds the limit: such a request never fits.
    """
    if cost > limit:
        return None
    if current + cost <= limit:
        # Fits within this minute, once the previous minute's weight has decayed enough.
        share_needed = 1.0 - (limit - current - cost) / previous
        return max(share_needed * MINUTE_S - offset, 0.0) + _RETRY_MARGIN_S
    # Fits only in the next minute, once this minute's count has decayed enough there.
    share_needed = 1.0 - (limit - cost) / current
    return (MINUTE_S - offset) + share_needed * MINUTE_S + _RETRY_MARGIN_S
