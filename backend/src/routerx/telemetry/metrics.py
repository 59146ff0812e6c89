"""Every Prometheus metric RouterX exports, defined in one place.

Labels carry only configured names (provider, model from configuration, capability, status
class); never prompt text, keys, tenant-supplied free strings or URLs.
"""

from __future__ import annotations

from prometheus_client import Counter

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
