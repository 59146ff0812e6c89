"""Every error body the gateway sends, OpenAI-shaped: {"error": {message, type, param, code}}."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import msgspec


class ErrorDetail(msgspec.Struct):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(msgspec.Struct):
    error: ErrorDetail


@dataclass(slots=True)
class GatewayError(Exception):
    """An error the client should see, with its HTTP status and extra headers."""

    status: int
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        detail = ErrorDetail(self.message, self.type, self.param, self.code)
        return msgspec.json.encode(ErrorBody(detail))


def invalid_request(
    message: str, param: str | None = None, code: str | None = None
) -> GatewayError:
    return GatewayError(400, message, "invalid_request_error", param, code)


def invalid_api_key(message: str = "Incorrect API key provided.") -> GatewayError:
    return GatewayError(401, message, "invalid_request_error", None, "invalid_api_key")


def model_not_found(model: str) -> GatewayError:
    return GatewayError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model",
        "model_not_found",
    )


def body_too_large(limit: int) -> GatewayError:
    return GatewayError(
        413,
        f"Request body exceeds the limit of {limit} bytes.",
        "invalid_request_error",
        None,
        "request_too_large",
    )


def body_too_slow(timeout_s: float) -> GatewayError:
    return GatewayError(
        408,
        f"The request body did not arrive within {timeout_s:g} s.",
        "invalid_request_error",
        None,
        "request_timeout",
    )


def unsupported_media_type() -> GatewayError:
    return GatewayError(
        415,
        "Content-Type must be application/json.",
        "invalid_request_error",
        None,
        "unsupported_media_type",
    )


def method_not_allowed() -> GatewayError:
    return GatewayError(
        405, "Method not allowed.", "invalid_request_error", None, "method_not_allowed"
    )


def not_found(path: str) -> GatewayError:
    return GatewayError(
        404, f"Unknown path: {path[:200]}", "invalid_request_error", None, "not_found"
    )


def capability_unavailable(capability: str, model: str) -> GatewayError:
    return GatewayError(
        400,
        f"No configured provider for `{model}` supports the `{capability}` capability.",
        "invalid_request_error",
        "messages" if capability in CONTENT_CAPABILITIES else capability_param(capability),
        "capability_not_supported",
    )


CONTENT_CAPABILITIES = frozenset({"vision", "audio", "files"})


def capability_param(capability: str) -> str:
    return {"tools": "tools", "json": "response_format"}.get(capability, "model")


def all_providers_unavailable(retry_after_s: float) -> GatewayError:
    seconds = max(1, round(retry_after_s))
    return GatewayError(
        503,
        "All providers for this model are temporarily unavailable. Retry later.",
        "service_unavailable",
        None,
        "providers_unavailable",
        {"retry-after": str(seconds)},
    )


def rate_limited(scope: str, limit: str, retry_after_s: float | None) -> GatewayError:
    what = {"rpm": "requests", "tpm": "tokens"}.get(limit, limit)
    if retry_after_s is None:
        return GatewayError(
            429,
            f"This request alone exceeds the {scope}'s {what}-per-minute limit.",
            "rate_limit_error",
            None,
            "rate_limit_exceeded",
        )
    return GatewayError(
        429,
        f"Rate limit reached: the {scope}'s {what} per minute. Retry after the given time.",
        "rate_limit_error",
        None,
        "rate_limit_exceeded",
        {"retry-after": str(max(1, math.ceil(retry_after_s)))},
    )


def responses_not_translatable(param: str, reason: str) -> GatewayError:
    """A Responses request Chat Completions cannot carry, and no native target to send it to."""
    return GatewayError(
        400,
        f"`{param}` {reason}. Such a request is served only by OpenAI or Azure OpenAI targets, "
        "which speak the Responses API themselves, and this model's route has none; other "
        "targets get the request translated to Chat Completions, which cannot express this.",
        "invalid_request_error",
        param,
        "unsupported_parameter",
    )


def upstream_failed(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    param: str | None = None,
    code: str | None = None,
) -> GatewayError:
    """`param` and `code` are the upstream's own, already sanitised (providers.error_detail)."""
    error_type = "rate_limit_error" if status == 429 else "upstream_error"
    if 400 <= status < 500 and status != 429:
        error_type = "invalid_request_error"
    return GatewayError(status, message, error_type, param, code or "upstream_error", headers or {})


def internal_error() -> GatewayError:
    return GatewayError(
        500, "The gateway failed to handle this request.", "server_error", None, None
    )


_PATH = re.compile(r"at `\$(?P<path>[^`]*)`")
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")


def from_validation_error(exc: msgspec.ValidationError) -> GatewayError:
    """Turn msgspec's 'Expected `str`, got `int` - at `$.messages[0].role`' into a 400."""
    text = str(exc)
    match = _PATH.search(text)
    param = None
    if match:
        param = match.group("path").lstrip(".") or None
        text = text[: match.start()].rstrip(" -")
    missing = _MISSING.search(text)
    if missing:
        field_name = missing.group("field")
        param = f"{param}.{field_name}" if param else field_name
    return invalid_request(f"Invalid request: {text}", param)
