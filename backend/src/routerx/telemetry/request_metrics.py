"""Per-request metrics, taken from the finished request-log row (one place, after the answer)."""

from __future__ import annotations

from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from routerx.core.log_row import LogRow
from routerx.telemetry import metrics

_STREAM = {True: "true", False: "false"}
# Bound children by label values: `.labels()` costs a lock and a tuple per call, several times a
# request. The label values come from configuration, so the cache stays small.
_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: MetricWrapperBase, *labels: str) -> Any:
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def observe_request(row: LogRow, model_label: str) -> None:
    provider = row.provider or ""
    _child(metrics.REQUESTS, row.api, provider, model_label, row.capability, str(row.status)).inc()
    stream = _STREAM[row.stream]
    seconds = row.latency_ms / 1000
    upstream_ms = 0.0
    for attempt in row.attempts:
        _child(metrics.UPSTREAM_ATTEMPTS, attempt.provider, attempt.outcome).inc()
        upstream_ms += attempt.latency_ms
    if not provider:
        return
    _child(metrics.REQUEST_DURATION, row.api, provider, stream).observe(seconds)
    waited_until_ms = row.ttft_ms if row.ttft_ms is not None else row.latency_ms
    _child(metrics.GATEWAY_OVERHEAD, stream).observe(max(0.0, waited_until_ms - upstream_ms) / 1000)
    if row.ttft_ms is not None:
        _child(metrics.TIME_TO_FIRST_TOKEN, provider).observe(row.ttft_ms / 1000)
    if row.fallback:
        _child(metrics.FALLBACKS, provider, model_label).inc()
    if row.total_tokens:
        _child(metrics.TOKENS, provider, "prompt").inc(row.prompt_tokens)
        _child(metrics.TOKENS, provider, "completion").inc(row.completion_tokens)
