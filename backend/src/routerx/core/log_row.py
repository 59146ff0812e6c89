"""One request-log row as the gateway builds it: metadata only, by construction.

There is deliberately no field that could hold prompt, response or image content.
"""

from __future__ import annotations

import msgspec


class Attempt(msgspec.Struct, omit_defaults=True):
    provider: str
    model: str
    outcome: str  # success | failure | client_error | skipped_open | cancelled
    latency_ms: float = 0.0
    status: int | None = None
    breaker_state: str = "closed"
    error_type: str | None = None
    hedged: bool = False
    reason: str | None = None  # why routing chose this target (latency balancing)
    cost_picousd: int | None = None  # picodollars (1e-12 USD); None: price unknown
    cost_estimated: bool = False


class LogRow(msgspec.Struct, kw_only=True):
    request_id: str
    created_at: float
    status: int
    api: str = "chat"  # the API surface: chat | responses | messages | embeddings
    tenant_id: int | None = None
    key_id: int | None = None
    model: str = ""
    capability: str = "text"
    provider: str | None = None
    upstream_model: str | None = None
    rule: str | None = None
    attempts: list[Attempt] = msgspec.field(default_factory=list)
    fallback: bool = False
    stream: bool = False
    error_type: str | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    trace_id: str | None = None
    client_request_id: str | None = None  # the client's own x-request-id, never RouterX's id
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_picousd: int | None = None  # picodollars (1e-12 USD), exact; None: price unknown
    cost_estimated: bool = False
    budget_action: str | None = None  # downgraded, when a budget rerouted the request
