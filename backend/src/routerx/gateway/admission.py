"""The worker's in-flight body budget: bytes of request bodies held at once, across all tenants.

A request takes its share before its body is read (its `Content-Length`, or, for a chunked body,
each chunk as it arrives) and gives it back when it is answered, since the decoded request lives
as long as that. Over the budget the request is refused at once with a 503 and `Retry-After`,
its body unread, so that a burst of large bodies cannot grow the worker's memory without bound.
"""

from __future__ import annotations

from starlette.types import Receive, Scope

from routerx.gateway.asgi_io import ClientDisconnected, header
from routerx.gateway.errors import GatewayError, body_too_large
from routerx.telemetry import metrics

RETRY_AFTER_S = 1
SERVER_BUSY = "server_busy"


def server_busy() -> GatewayError:
    return GatewayError(
        503,
        "The gateway is holding too many request bodies at once. Retry later.",
        "service_unavailable",
        None,
        SERVER_BUSY,
        {"retry-after": str(RETRY_AFTER_S)},
    )


class BodyBudget:
    """Bytes held by admitted bodies, against `capacity`. One per worker process."""

    __slots__ = ("capacity", "held")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0

    def take(self, size: int) -> bool:
        if self.held + size > self.capacity:
            metrics.OVERLOAD_REFUSALS.labels(SERVER_BUSY).inc()
            return False
        self.held += size
        metrics.INFLIGHT_BODY_BYTES.set(self.held)
        return True

    def give_back(self, size: int) -> None:
        if size:
            self.held -= size
            metrics.INFLIGHT_BODY_BYTES.set(self.held)


class Admission:
    """One request's share of the budget; `release()` is safe to call more than once."""

    __slots__ = ("budget", "held")

    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.held = 0

    def take(self, size: int) -> None:
        if not self.budget.take(size):
            raise server_busy()
        self.held += size

    def release(self) -> None:
        self.budget.give_back(self.held)
        self.held = 0


async def read_admitted_body(
    receive: Receive, scope: Scope, limit: int, admission: Admission
) -> bytearray:
    """The whole body, within `limit` and the budget. A declared length is taken up front (and
    not trusted: more bytes than declared are taken as they come); a chunked body is taken
    chunk by chunk. Gathered in a bytearray, which the JSON decoder reads as it is: joining
    chunks at the end would copy a large body in one step that holds the event loop. The
    bytearray grows as chunks arrive rather than being allocated at the declared length: a
    zero-filled 50 MB bytearray costs one step of 25-75 ms (its page faults), while growing it
    faults its pages chunk by chunk, and glibc moves a block above its mmap threshold with
    mremap, not a copy (below it, at most 32 MB, a growth may copy)."""
    declared = header(scope, b"content-length")
    expected = int(declared) if declared is not None and declared.isdigit() else None
    if expected is not None:
        if expected > limit:
            raise body_too_large(limit)
        admission.take(expected)
    gathered = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        body = message.get("body", b"")
        end = len(gathered) + len(body)
        try:
            if end > limit:
                raise body_too_large(limit)
            if end > admission.held:
                admission.take(end - admission.held)
        except GatewayError:
            del gathered[:]  # not kept alive by the traceback while the rest is discarded
            raise
        gathered += body
        if not message.get("more_body", False):
            return gathered
