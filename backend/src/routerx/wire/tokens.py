"""Token estimates for when an upstream reports no usage (the mock, a stream cut short).

About four characters of English per token, a fixed charge per image and per message: close
enough for quotas and dashboards, and labelled as an estimate wherever it is stored.
"""

from __future__ import annotations

from routerx.wire.openai import ChatRequest, ImagePart

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 85
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_prompt_tokens(request: ChatRequest) -> int:
    total = 0
    for message in request.messages:
        total += MESSAGE_OVERHEAD_TOKENS
        for part in message.parts():
            if isinstance(part, ImagePart):
                total += IMAGE_TOKENS
            else:
                total += len(part.text) // CHARS_PER_TOKEN + 1
    return total
