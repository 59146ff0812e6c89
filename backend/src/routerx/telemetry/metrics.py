"""Every Prometheus metric RouterX exports, defined in one place.

Labels carry only configured names (provider, routing-rule pattern), fixed vocabularies
(API surface, capability, outcome, token type) and status codes; never prompt text, keys,
tenant-supplied strings or URLs. With several hypercorn workers the CLI points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers start, and /metrics aggregates
every worker's files.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)

REQUESTS = Counter(
    "routerx_requests_total",
    "Requests answered, by API surface, provider, routed model pattern, capability, status.",
    ["api", "provider", "model", "capability", "status"],
)
REQUEST_DURATION = Histogram(
    "routerx_request_duration_seconds",
    "Time from request received to the last byte of the answer.",
    ["api", "provider", "stream"],
    buckets=LATENCY_BUCKETS,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "routerx_time_to_first_token_seconds",
    "Streams: time from request received to the first chunk sent to the client.",
    ["provider"],
    buckets=LATENCY_BUCKETS,
)
GATEWAY_OVERHEAD = Histogram(
    "routerx_gateway_overhead_seconds",
    "Time spent in the gateway itself: the request's duration minus its upstream attempts.",
    ["stream"],
    buckets=OVERHEAD_BUCKETS,
)
UPSTREAM_ATTEMPTS = Counter(
    "routerx_upstream_attempts_total",
    "Attempts at upstream providers by outcome "
    "(success, failure, client_error, skipped_open, cancelled).",
    ["provider", "outcome"],
)
STREAM_RESCUES = Counter(
    "routerx_stream_rescues_total",
    "Committed streams that failed mid-answer, by what followed "
    "(rescued, failed: no target could continue, not_rescued: not continuable or over the bound).",
    ["outcome"],
)
MALFORMED_STREAM_EVENTS = Counter(
    "routerx_malformed_stream_events_total",
    "Upstream stream events that were not valid JSON, skipped.",
    ["provider"],
)
FALLBACKS = Counter(
    "routerx_fallbacks_total",
    "Requests answered by a provider other than their rule's primary.",
    ["provider", "model"],
)
BREAKER_STATE = Gauge(
    "routerx_breaker_state",
    "Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.",
    ["provider"],
    multiprocess_mode="livemax",
)
BREAKER_TRANSITIONS = Counter(
    "routerx_breaker_transitions_total",
    "Circuit breaker state changes seen by this gateway.",
    ["provider", "from_state", "to_state"],
)
TOKENS = Counter(
    "routerx_tokens_total",
    "Tokens by provider and type (prompt, completion), as reported or estimated.",
    ["provider", "type"],
)
RATE_LIMITED = Counter(
    "routerx_rate_limited_total",
    "Requests refused by a rate limit, by scope (tenant, key) and limit (rpm, tpm).",
    ["scope", "limit"],
)
REQUEST_LOG_WRITTEN = Counter(
    "routerx_request_log_rows_written_total", "Request-log rows written to the database."
)
REQUEST_LOG_DROPPED = Counter(
    "routerx_request_log_rows_dropped_total",
    "Request-log rows dropped because the buffer was full or the database never came back.",
)
REQUEST_LOG_WRITE_FAILURES = Counter(
    "routerx_request_log_write_failures_total", "Failed batch writes of request-log rows."
)
REQUEST_LOG_PENDING = Gauge(
    "routerx_request_log_rows_pending",
    "Request-log rows buffered in memory, waiting to be written.",
    multiprocess_mode="livesum",
)
BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}
HEALTH_PROBES = Counter(
    "routerx_health_probes_total",
    "Active health-check probes, by provider and outcome (success, failure, skipped_open).",
    ["provider", "outcome"],
)
HEALTH_PROBE_TOKENS = Counter(
    "routerx_health_probe_tokens_total",
    "Tokens spent by completion health-check probes, by provider and token type.",
    ["provider", "type"],
)
INFLIGHT_BODY_BYTES = Gauge(
    "routerx_inflight_body_bytes",
    "Bytes of request bodies admitted and not yet answered (MAX_INFLIGHT_BODY_BYTES caps it).",
    multiprocess_mode="livesum",
)
OPEN_CONNECTIONS = Gauge(
    "routerx_open_connections",
    "Open client connections (MAX_CONNECTIONS caps them per worker).",
    multiprocess_mode="livesum",
)
OVERLOAD_REFUSALS = Counter(
    "routerx_overload_refusals_total",
    "Requests refused to protect the gateway, by reason (server_busy, too_many_connections, "
    "concurrency_limit).",
    ["reason"],
)
