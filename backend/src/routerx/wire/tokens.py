"""Token estimates for when an upstream reports no usage (the mock, a stream cut short).

About four characters of English per token, a fixed charge per image and per message, and for
audio and files a fixed charge plus one token per kilobyte of their base64: close enough for
quotas and dashboards, and labelled as an estimate wherever it is stored.
"""

from __future__ import annotations

from routerx.wire.openai import AudioPart, ChatRequest, FilePart, ImagePart

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 85
MESSAGE_OVERHEAD_TOKENS = 4
ATTACHMENT_BYTES_PER_TOKEN = 1000


def estimate_prompt_tokens(request: ChatRequest) -> int:
    total = 0
    for message in request.messages:
        total += MESSAGE_OVERHEAD_TOKENS
        for part in message.parts():
            if isinstance(part, ImagePart):
                total += IMAGE_TOKENS
            elif isinstance(part, AudioPart):
                total += IMAGE_TOKENS + len(part.input_audio.data) // ATTACHMENT_BYTES_PER_TOKEN
            elif isinstance(part, FilePart):
                size = len(part.file.file_data or "")
                total += IMAGE_TOKENS + size // ATTACHMENT_BYTES_PER_TOKEN
            else:
                total += len(part.text) // CHARS_PER_TOKEN + 1
    return total
