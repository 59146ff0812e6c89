"""Turn a raw body into a validated ChatRequest, or a 400 that names the offending param."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from routerx.gateway.errors import GatewayError, from_validation_error, invalid_request
from routerx.providers.attachments import (
    AttachmentRejected,
    audio_param,
    check_audio,
    check_file,
    file_param,
)
from routerx.providers.images import ImageBudget, ImageRejected, parse_data_url
from routerx.wire.openai import AudioPart, ChatRequest, FilePart, ImagePart

# Fields that would let a caller choose where the gateway sends its provider keys
# (the LiteLLM key leak, CVE-2024-6587), or override its credentials.
FORBIDDEN_FIELDS = (
    "api_base",
    "base_url",
    "api_key",
    "api_version",
    "azure_endpoint",
    "organization",
    "extra_headers",
)
_decoder = msgspec.json.Decoder()
# No model name has control characters, and PostgreSQL cannot store NUL in text: a NUL in the
# request-log row's `model` would fail its batch, again and again, for every tenant.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
HTTP_SCHEMES = ("https://", "http://")


def decode_body(body: bytes | bytearray) -> dict[str, Any]:
    if not body or body.isspace():  # not strip(): that would copy a large bytearray
        raise invalid_request("The request body is empty; expected a JSON object.")
    try:
        raw = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise invalid_request(
            f"The request body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    except UnicodeDecodeError:  # msgspec raises it, not DecodeError, for bad UTF-8 in a string
        raise invalid_request(
            "The request body is not valid JSON: it is not valid UTF-8.", code="invalid_json"
        ) from None
    except RecursionError:
        raise invalid_request(
            "The request body is not valid JSON: it is nested too deeply.", code="invalid_json"
        ) from None
    if not isinstance(raw, dict):
        raise invalid_request("The request body must be a JSON object.")
    return raw


def validate(raw: dict[str, Any]) -> ChatRequest:
    for name in FORBIDDEN_FIELDS:
        if name in raw:
            raise invalid_request(
                f"`{name}` is not accepted: upstreams are chosen by the gateway's configuration.",
                name,
                "unsupported_parameter",
            )
    try:
        request = msgspec.convert(raw, ChatRequest)
    except msgspec.ValidationError as exc:
        raise from_validation_error(exc) from None
    if _CONTROL_CHARACTERS.search(request.model):
        raise invalid_request("`model` must not contain control characters.", "model")
    budget = ImageBudget()
    for index, message in enumerate(request.messages):
        if isinstance(message.content, list) and not message.content and message.role == "user":
            raise invalid_request(
                "A user message needs at least one content part.", f"messages[{index}].content"
            )
        for part_index, part in enumerate(message.parts()):
            if isinstance(part, ImagePart):
                _check_image(part.url, f"messages[{index}].content[{part_index}].image_url", budget)
            elif isinstance(part, AudioPart | FilePart):
                _check_attachment(part, index, part_index)
    error = check_text(request)
    if error is not None:
        raise error
    return request


def _check_image(url: str, param: str, budget: ImageBudget) -> None:
    """Data URLs are decoded and checked here (base64, size, magic bytes match the MIME type);
    http(s) URLs are fetched, with SSRF guards, only by adapters that need the bytes."""
    if url.startswith("data:"):
        try:
            parse_data_url(url, param=param, budget=budget)
        except ImageRejected as rejected:
            raise invalid_request(rejected.message, param, "invalid_image") from None
        except ValueError:  # binascii refuses non-ASCII text with a plain ValueError
            raise invalid_request(
                "The data URL does not contain valid base64.", param, "invalid_image"
            ) from None
    elif not url.startswith(HTTP_SCHEMES):
        raise invalid_request(
            "An image URL must be an http(s) URL or a data: URL.", param, "invalid_image_url"
        )


def _check_attachment(part: AudioPart | FilePart, index: int, part_index: int) -> None:
    try:
        if isinstance(part, AudioPart):
            check_audio(part, audio_param(index, part_index))
        else:
            check_file(part, file_param(index, part_index))
    except AttachmentRejected as rejected:
        raise invalid_request(rejected.message, rejected.param, rejected.code) from None


def check_text(request: ChatRequest) -> GatewayError | None:
    """Strings that cannot be encoded as UTF-8 (lone surrogates) cannot reach any upstream."""
    for index, message in enumerate(request.messages):
        content = message.content
        texts = (
            [content]
            if isinstance(content, str)
            else [getattr(part, "text", "") for part in content or []]
        )
        for text in texts:
            if text.isascii():  # O(1) in CPython; ASCII text cannot hold a surrogate
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return invalid_request(
                    "Message text contains invalid Unicode (a lone surrogate).",
                    f"messages[{index}].content",
                    "invalid_unicode",
                )
    return None
