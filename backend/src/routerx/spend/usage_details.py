"""The usage details that change cost, copied onto the request-log row."""

from __future__ import annotations

from msgspec import UNSET

from routerx.core.log_row import LogRow
from routerx.wire.openai import Usage


def record_usage_details(row: LogRow, usage: Usage) -> None:
    details = usage.prompt_tokens_details
    if details is not None and details is not UNSET:
        row.cached_tokens = details.cached_tokens or 0
        written = details.cache_creation_tokens
        row.cache_write_tokens = written if isinstance(written, int) else 0
    out = usage.completion_tokens_details
    if out is not None and out is not UNSET:
        row.reasoning_tokens = out.reasoning_tokens or 0
