"""Per-request metrics, taken from the finished request-log row (one place, after the answer)."""

from __future__ import annotations

from routerx.storage.log_row import LogRow
from routerx.telemetry import metrics

_STREAM = {True: "true", False: "false"}


def observe_request(row: LogRow, model_label: str) -> None:
    provider = row.provider or ""
    metrics.REQUESTS.labels(provider, model_label, row.capability, str(row.status)).inc()
    stream = _STREAM[row.stream]
    seconds = row.latency_ms / 1000
    upstream_ms = 0.0
    for attempt in row.attempts:
        metrics.UPSTREAM_ATTEMPTS.labels(attempt.provider, attempt.outcome).inc()
        upstream_ms += attempt.latency_ms
    if not provider:
        return
    metrics.REQUEST_DURATION.labels(provider, stream).observe(seconds)
    waited_until_ms = row.ttft_ms if row.ttft_ms is not None else row.latency_ms
    metrics.GATEWAY_OVERHEAD.labels(stream).observe(max(0.0, waited_until_ms - upstream_ms) / 1000)
    if row.ttft_ms is not None:
        metrics.TIME_TO_FIRST_TOKEN.labels(provider).observe(row.ttft_ms / 1000)
    if row.fallback:
        metrics.FALLBACKS.labels(provider, model_label).inc()
    if row.total_tokens:
        metrics.TOKENS.labels(provider, "prompt").inc(row.prompt_tokens)
        metrics.TOKENS.labels(provider, "completion").inc(row.completion_tokens)
