"""Audio and file parts at decode time (strict base64, size caps, magic bytes, one source), the
capabilities they need, and the sanitised reading of upstream error bodies."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from routerx.gateway.errors import GatewayError
from routerx.gateway.request_parsing import validate
from routerx.providers import attachments
from routerx.providers.error_detail import ErrorDetail, error_detail
from routerx.routing.capabilities import needs_of
from tests.providers import requests

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 8


def _audio(data: bytes | str, fmt: str = "wav") -> dict[str, Any]:
    encoded = data if isinstance(data, str) else base64.b64encode(data).decode()
    return {"type": "input_audio", "input_audio": {"data": encoded, "format": fmt}}


def _file(**file: Any) -> dict[str, Any]:
    return {"type": "file", "file": file}


def _refusal(part: dict[str, Any]) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        validate(requests.with_parts(part))
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize(
    "part",
    [
        requests.AUDIO_PART,
        _audio(MP3, "mp3"),
        requests.FILE_PART,
        requests.FILE_ID_PART,
        _file(file_data=requests.PDF_DATA_URL),
    ],
    ids=["wav", "mp3", "pdf", "file_id", "pdf-without-name"],
)
def test_valid_parts_are_accepted(part: dict[str, Any]) -> None:
    request = validate(requests.with_parts(part))
    assert len(request.messages[0].parts()) == 2


@pytest.mark.parametrize(
    ("part", "param", "code"),
    [
        (_audio("not base64!"), "messages[0].content[1].input_audio.data", "invalid_audio"),
        (
            _audio(b"OggS\x00\x02" * 4, "wav"),
            "messages[0].content[1].input_audio.data",
            "invalid_audio",
        ),
        (_audio(requests.WAV, "mp3"), "messages[0].content[1].input_audio.format", "invalid_audio"),
        (
            _file(file_data=requests.PDF_DATA_URL, file_id="file-1"),
            "messages[0].content[1].file",
            "invalid_file",
        ),
        (_file(filename="x.pdf"), "messages[0].content[1].file", "invalid_file"),
        (
            _file(file_data="data:text/plain;base64,aGVsbG8="),
            "messages[0].content[1].file.file_data",
            "invalid_file",
        ),
        (
            _file(file_data="data:application/pdf;base64," + base64.b64encode(b"hello").decode()),
            "messages[0].content[1].file.file_data",
            "invalid_file",
        ),
        (
            _file(file_data=requests.PDF_BASE64),  # base64 without the data: URL
            "messages[0].content[1].file.file_data",
            "invalid_file",
        ),
        (
            _file(file_id="file id with spaces"),
            "messages[0].content[1].file.file_id",
            "invalid_file",
        ),
    ],
    ids=[
        "audio-not-base64",
        "audio-not-wav-or-mp3",
        "audio-format-mismatch",
        "file-both-sources",
        "file-no-source",
        "file-not-pdf-type",
        "file-not-pdf-bytes",
        "file-not-a-data-url",
        "file-id-malformed",
    ],
)
def test_bad_parts_are_refused_naming_the_field(
    part: dict[str, Any], param: str, code: str
) -> None:
    error = _refusal(part)
    assert (error.param, error.code) == (param, code)


def test_audio_format_must_be_known() -> None:
    error = _refusal(_audio(requests.WAV, "flac"))
    assert error.param is not None and error.param.endswith("input_audio.format")


def test_oversized_audio_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachments, "MAX_AUDIO_BYTES", 16)
    error = _refusal(requests.AUDIO_PART)
    assert "exceeds" in error.message and error.code == "invalid_audio"


@pytest.mark.parametrize(
    ("parts", "required"),
    [
        ([], {"text"}),
        ([requests.AUDIO_PART], {"text", "audio"}),
        ([requests.FILE_PART], {"text", "files"}),
        ([requests.AUDIO_PART, requests.FILE_ID_PART], {"text", "audio", "files"}),
        (
            [{"type": "image_url", "image_url": requests.PNG_DATA_URL}, requests.FILE_PART],
            {"text", "vision", "files"},
        ),
    ],
)
def test_parts_need_their_capability(parts: list[dict[str, Any]], required: set[str]) -> None:
    needs = needs_of(validate(requests.with_parts(*parts)))
    assert needs.required == required
    assert needs.primary == ("vision" if "vision" in required else "text")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"error":{"message":"bad thing in your prompt","type":"invalid_request_error",'
            b'"param":"temperature","code":"invalid_value"}}',
            ErrorDetail("invalid_request_error", "temperature", "invalid_value"),
        ),
        (
            b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too'
            b' long: 201000 tokens > 200000 maximum"}}',
            ErrorDetail("invalid_request_error", None, "context_length_exceeded"),
        ),
        (
            b'{"error":{"code":400,"message":"x","status":"INVALID_ARGUMENT"}}',
            ErrorDetail("INVALID_ARGUMENT", None, None),
        ),
        # Anything that is not an identifier is dropped: no echoed prompt, URL or key.
        (
            b'{"error":{"type":"see https://evil.example/?k=sk-1","param":"my secret text",'
            b'"code":"sk-live key"}}',
            ErrorDetail(None, None, None),
        ),
        (b"<html>502</html>", ErrorDetail()),
        (b'{"error":"just a string"}', ErrorDetail()),
        (b"", ErrorDetail()),
    ],
    ids=["openai", "anthropic-context", "gemini", "not-identifiers", "html", "string", "empty"],
)
def test_upstream_error_detail(body: bytes, expected: ErrorDetail) -> None:
    assert error_detail(body) == expected
