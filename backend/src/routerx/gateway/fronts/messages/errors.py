"""Gateway errors in Anthropic's shape: `{"type":"error","error":{"type":...,"message":...}}`.

Status codes and types are Anthropic's (https://docs.anthropic.com/en/api/errors). RouterX's
"every provider for this model is unavailable" (503 on the OpenAI surfaces, with Retry-After) is
Anthropic's 529 `overloaded_error`, which Anthropic clients already retry; a request body that did
not arrive in time (408) is a 400 here, as Anthropic has no 408.
"""

from __future__ import annotations

from routerx.gateway.errors import GatewayError
from routerx.wire import anthropic as wire

OVERLOADED = 529
ERROR_TYPES: dict[int, wire.ErrorType] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    OVERLOADED: "overloaded_error",
}
STATUSES = {408: 400, 503: OVERLOADED}


def error_detail(error: GatewayError) -> tuple[int, wire.ErrorDetail]:
    status = STATUSES.get(error.status, error.status)
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    message = error.message
    if error.param and f"`{error.param}`" not in message:
        message = f"{error.param}: {message}"
    return status, wire.ErrorDetail(kind, message)


def error_body(error: GatewayError) -> tuple[int, bytes]:
    status, detail = error_detail(error)
    return status, wire.json_encoder.encode(wire.ErrorBody(detail))
