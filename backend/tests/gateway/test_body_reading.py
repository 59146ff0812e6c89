"""How a worker holds a body while it arrives (gateway.admission.read_admitted_body): its
declared length is taken from the budget up front, but memory grows only with the bytes that
came, so no step allocates (and page-faults) a large body's whole length at once."""

from __future__ import annotations

import tracemalloc
from typing import Any

from routerx.gateway.admission import Admission, BodyBudget, read_admitted_body

DECLARED = 16 * 1024 * 1024
CHUNK = b"x" * 4096


async def test_a_declared_length_is_not_allocated_before_its_bytes_arrive() -> None:
    messages = [
        {"type": "http.request", "body": CHUNK, "more_body": index < 3} for index in range(4)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope = {"headers": [(b"content-length", str(DECLARED).encode())]}
    budget = BodyBudget(DECLARED)
    admission = Admission(budget)
    tracemalloc.start()
    try:
        body = await read_admitted_body(receive, scope, DECLARED, admission)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert body == CHUNK * 4
    assert budget.held == DECLARED  # the whole declared length is counted all the same
    assert peak < DECLARED // 16


async def test_a_body_longer_than_declared_is_taken_as_it_comes() -> None:
    messages = [
        {"type": "http.request", "body": CHUNK, "more_body": True},
        {"type": "http.request", "body": CHUNK, "more_body": False},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope = {"headers": [(b"content-length", b"10")]}
    budget = BodyBudget(DECLARED)
    admission = Admission(budget)
    body = await read_admitted_body(receive, scope, DECLARED, admission)
    assert body == CHUNK * 2
    assert admission.held == len(CHUNK) * 2
