"""Every error the admin API sends, in the gateway's (OpenAI's) shape:
`{"error": {"message", "type", "param", "code"}}`, with `param` naming the offending field so the
console can show the message next to it.
"""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import dataclass, field

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from routerx.gateway.errors import ErrorBody, ErrorDetail

log = logging.getLogger("routerx.admin")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "service_unavailable",
}


@dataclass(slots=True)
class ApiError(Exception):
    status: int
    message: str
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        detail = ErrorDetail(
            self.message,
            ERROR_TYPES.get(self.status, "invalid_request_error"),
            self.param,
            self.code,
        )
        return Response(
            msgspec.json.encode(ErrorBody(detail)),
            status_code=self.status,
            headers=self.headers,
            media_type="application/json",
        )


def invalid(message: str, param: str | None = None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, param, code)


def unauthenticated(message: str = "Sign in to use the admin API.") -> ApiError:
    return ApiError(401, message, None, "unauthenticated", {"www-authenticate": "Bearer"})


def forbidden(message: str = "Your role may not do this.") -> ApiError:
    return ApiError(403, message, None, "forbidden")


def not_found(resource: str, ident: object) -> ApiError:
    return ApiError(404, f"{resource} {ident} does not exist.", None, "not_found")


def conflict(message: str, param: str | None = None) -> ApiError:
    return ApiError(409, message, param, "conflict")


def too_many_attempts(retry_after_s: float) -> ApiError:
    seconds = max(1, int(retry_after_s + 0.999))
    return ApiError(
        429,
        f"Too many failed sign-in attempts. Try again in {seconds} s.",
        None,
        "too_many_attempts",
        {"retry-after": str(seconds)},
    )


def gateway_unavailable(message: str) -> ApiError:
    return ApiError(503, message, None, "gateway_unavailable")


_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `(?P<name>[^`]*)`")


def from_validation_error(exc: msgspec.ValidationError, prefix: str = "") -> ApiError:
    """msgspec's 'Expected `int` >= 1 - at `$.targets[0].weight`' -> param `targets[0].weight`."""
    text = str(exc)
    path = ""
    match = _PATH.search(text)
    if match:
        path = match.group("path").lstrip(".")
        text = text[: match.start()]
    named = _NAMED_FIELD.search(text)
    if named:
        path = f"{path}.{named.group('name')}" if path else named.group("name")
    param = f"{prefix}.{path}" if prefix and path else (path or prefix or None)
    return invalid(f"Invalid value: {text}", param)


async def handle_api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return ApiError(404, f"No route for {request.url.path[:200]}", None, "no_route").response()
    if exc.status_code == 405:
        return ApiError(
            405, "Method not allowed.", None, "method_not_allowed", dict(exc.headers or {})
        ).response()
    return ApiError(exc.status_code, str(exc.detail)[:200], None, None, {}).response()


def server_error(request: Request, exc: BaseException) -> Response:
    """A 500 whose log line has the exception type and stack but not its message, which may
    quote input values (a secret's ciphertext, a password)."""
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "admin request failed: %s %s: %s\n%s",
        request.method,
        request.url.path,
        type(exc).__name__,
        stack,
    )
    return ApiError(500, "The admin API failed to handle this request.").response()


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    return server_error(request, exc)
