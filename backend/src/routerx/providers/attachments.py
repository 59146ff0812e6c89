"""Audio (`input_audio`) and file (`file`, PDF) content parts: validation at decode time and the
pieces the translating adapters send upstream.

Like images, inline data is decoded once when the request arrives (strict base64, a size cap,
magic bytes that match the declared type), so that no upstream ever receives bytes that are not
what they claim to be. Refusals raise `AttachmentRejected`, whose message is safe to show a
client: it never quotes the data.
"""

from __future__ import annotations

import binascii
import re

from routerx.providers.errors import RequestRejected
from routerx.wire.openai import AudioPart, FilePart

MAX_AUDIO_BYTES = 25 * 1024 * 1024
MAX_FILE_BYTES = 32 * 1024 * 1024
PDF_MIME = "application/pdf"
AUDIO_MIME_TYPES = {"wav": "audio/wav", "mp3": "audio/mp3"}
# OpenAI's file ids are `file-` and letters/digits; other OpenAI-family stores use similar ids.
_FILE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


class AttachmentRejected(RequestRejected):
    code = "invalid_file"


def audio_param(message_index: int, part_index: int) -> str:
    return f"messages[{message_index}].content[{part_index}].input_audio"


def file_param(message_index: int, part_index: int) -> str:
    return f"messages[{message_index}].content[{part_index}].file"


def _decode(payload: str, limit: int, what: str, param: str, code: str) -> bytes:
    if len(payload) // 4 * 3 > limit + 3:
        raise AttachmentRejected(
            f"The {what} exceeds the {limit // (1024 * 1024)} MB limit.", param, code
        )
    try:
        data = binascii.a2b_base64(payload, strict_mode=True)
    except (binascii.Error, ValueError):
        raise AttachmentRejected(f"The {what} is not valid base64.", param, code) from None
    if len(data) > limit:
        raise AttachmentRejected(
            f"The {what} exceeds the {limit // (1024 * 1024)} MB limit.", param, code
        )
    return data


def sniff_audio(data: bytes) -> str | None:
    """`wav` or `mp3` from the first bytes, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def check_audio(part: AudioPart, param: str) -> None:
    audio = part.input_audio
    data = _decode(audio.data, MAX_AUDIO_BYTES, "audio data", f"{param}.data", "invalid_audio")
    sniffed = sniff_audio(data)
    if sniffed is None:
        raise AttachmentRejected(
            "Unsupported audio: send WAV or MP3 data.", f"{param}.data", "invalid_audio"
        )
    if sniffed != audio.format:
        raise AttachmentRejected(
            f"The audio data is not the declared format {audio.format}.",
            f"{param}.format",
            "invalid_audio",
        )


def split_pdf_data_url(url: str, param: str) -> str:
    """The base64 payload of `data:application/pdf;base64,...`, without decoding it."""
    header, comma, payload = url.partition(",")
    if not comma or not header.lower().startswith("data:"):
        raise AttachmentRejected(
            "`file_data` must be a data URL: data:application/pdf;base64,<data>.", param
        )
    mime, *options = header[5:].split(";")
    if "base64" not in (option.strip().lower() for option in options):
        raise AttachmentRejected("`file_data` must be base64-encoded.", param)
    if mime.strip().lower() != PDF_MIME:
        raise AttachmentRejected("Unsupported file type: only PDF files are accepted.", param)
    return payload


def check_file(part: FilePart, param: str) -> None:
    file = part.file
    if (file.file_data is None) == (file.file_id is None):
        raise AttachmentRejected(
            "A file part needs exactly one of `file_data` or `file_id`.", param
        )
    if file.file_id is not None:
        if not _FILE_ID.match(file.file_id):
            raise AttachmentRejected("`file_id` is not a valid file id.", f"{param}.file_id")
        return
    data_param = f"{param}.file_data"
    payload = split_pdf_data_url(file.file_data or "", data_param)
    data = _decode(payload, MAX_FILE_BYTES, "file", data_param, "invalid_file")
    if not data.startswith(b"%PDF-"):
        raise AttachmentRejected("The file data is not a PDF document.", data_param)


def inline_pdf(part: FilePart, param: str, provider: str) -> str:
    """The base64 PDF for adapters that send bytes inline; a `file_id` means nothing to them."""
    if part.file.file_data is None:
        raise AttachmentRejected(
            f"`file_id` refers to an OpenAI file store; {provider} targets need `file_data`.",
            f"{param}.file_id",
            "unsupported_parameter",
        )
    return split_pdf_data_url(part.file.file_data, f"{param}.file_data")
