"""Upstream failures, classified for the breaker and sanitized for the client."""

from __future__ import annotations

from enum import StrEnum

from routerx.providers.error_detail import CONTEXT_LENGTH_EXCEEDED, PROVIDER_KEY_REASONS

RETRYABLE_STATUSES = frozenset({408, 429})
# The provider refused RouterX's own credentials: the provider's failure, not the caller's.
PROVIDER_AUTH_STATUSES = frozenset({401, 403})


class FailureKind(StrEnum):
    HTTP = "http"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    STREAM = "stream_error"
    PROTOCOL = "protocol"


class RequestRejected(ValueError):
    """A request a target's adapter cannot send as asked (a field or part that provider has no
    counterpart for). Client-facing: `message` and `param` name the field, `code` classifies."""

    code = "unsupported_parameter"

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class UpstreamError(Exception):
    """An upstream attempt failed. `message` is safe to show: no key, URL or raw body."""

    def __init__(
        self,
        message: str,
        *,
        kind: FailureKind = FailureKind.HTTP,
        status: int | None = None,
        retry_after_s: float | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s
        # From the upstream's error body, sanitised (see providers.error_detail).
        self.param = param
        self.code = code

    @property
    def is_failure(self) -> bool:
        """True when the breaker counts it and the next target should be tried."""
        if self.status is None or self.kind is not FailureKind.HTTP:
            return True
        return self.status >= 500 or self.status in RETRYABLE_STATUSES or self.is_provider_auth

    @property
    def is_provider_auth(self) -> bool:
        """The upstream refused the provider's key (wrong, rotated, revoked)."""
        return self.status in PROVIDER_AUTH_STATUSES or self.code in PROVIDER_KEY_REASONS

    @property
    def moves_on(self) -> bool:
        """A request-caused error another target may still answer (a model with a larger
        context window): the next target is tried, but the breaker does not count it."""
        return self.code == CONTEXT_LENGTH_EXCEEDED

    @property
    def client_status(self) -> int:
        """The status to answer with when this is the final error."""
        if self.kind is FailureKind.TIMEOUT:
            return 504
        if self.status is None or self.kind is not FailureKind.HTTP or self.is_provider_auth:
            return 502
        return self.status if self.status < 500 else 502
