"""What an upstream's 4xx error body may tell the client, sanitised.

The error shapes (OpenAI `{"error": {message, type, param, code}}`, Anthropic
`{"type": "error", "error": {type, message}}`, Gemini `{"error": {code, message, status}}`,
AWS `{"message": ...}` with the type in a header) are
read for their machine-readable fields only: `type`/`status`, `param` and `code`, each kept only
when it looks like an identifier (so no prompt text, URL or key an upstream echoes can pass).
The free-text message is never passed on; it is only matched for the one case clients must be
able to tell apart, a prompt longer than the model's context (`context_length_exceeded`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec

CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
# Gemini answers a wrong or revoked key with a 400 (or 403) naming one of these reasons.
PROVIDER_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"})
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_.\[\]-]{0,63}$")
_CONTEXT_TOO_LONG = re.compile(
    r"context length|context window|prompt is too long|too many (input )?tokens"
    r"|input token count.*exceeds|exceeds the maximum number of tokens"
    r"|input is too long for requested model",
    re.IGNORECASE,
)


class _Error(msgspec.Struct):
    type: str | None = None
    status: str | None = None  # Gemini's code name, e.g. INVALID_ARGUMENT
    param: str | None = None
    code: str | int | None = None
    message: str | None = None
    details: list[Any] | None = None  # Gemini's google.rpc details (ErrorInfo has a `reason`)


class _Body(msgspec.Struct):
    error: _Error | None = None
    message: str | None = None  # AWS's shape: only a message


_decode = msgspec.json.Decoder(_Body).decode


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    type: str | None = None
    param: str | None = None
    code: str | None = None

    def describe(self) -> str:
        """E.g. `: invalid_request_error, param messages[0].content, code invalid_value`."""
        pieces = [self.type] if self.type else []
        if self.param:
            pieces.append(f"param {self.param}")
        if self.code:
            pieces.append(f"code {self.code}")
        return ": " + ", ".join(pieces) if pieces else ""


def _identifier(value: object) -> str | None:
    return value if isinstance(value, str) and _IDENTIFIER.match(value) else None


def error_detail(body: bytes) -> ErrorDetail:
    """The sanitised fields of an upstream error body; empty when it is not one of the shapes."""
    try:
        decoded = _decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return ErrorDetail()
    error = decoded.error
    if error is None and isinstance(decoded.message, str):
        too_long = _CONTEXT_TOO_LONG.search(decoded.message)
        return ErrorDetail(code=CONTEXT_LENGTH_EXCEEDED if too_long else None)
    if error is None:
        return ErrorDetail()
    code = _identifier(error.code) or _key_reason(error.details)
    if (
        code != CONTEXT_LENGTH_EXCEEDED
        and error.message
        and _CONTEXT_TOO_LONG.search(error.message)
    ):
        code = CONTEXT_LENGTH_EXCEEDED
    return ErrorDetail(
        _identifier(error.type) or _identifier(error.status), _identifier(error.param), code
    )


def _key_reason(details: list[Any] | None) -> str | None:
    for item in details or ():
        reason = item.get("reason") if isinstance(item, dict) else None
        if reason in PROVIDER_KEY_REASONS:
            return str(reason)
    return None
