"""`POST /v1/messages/count_tokens`: an estimate, by routerx.wire.tokens, not a tokenizer's count.

The prompt is translated as `/v1/messages` would translate it and estimated as the gateway's
token limits estimate it; tool definitions add their JSON length at the same rate.
"""

from __future__ import annotations

from typing import Any

import msgspec

from routerx.gateway.fronts.messages.request import Translator, chat_request, decode_request
from routerx.wire import anthropic as wire
from routerx.wire.tokens import CHARS_PER_TOKEN, estimate_prompt_tokens


def count_tokens(raw: dict[str, Any]) -> int:
    request = decode_request(raw, wire.CountTokensRequest)
    translator = Translator()
    messages = translator.messages(request.system, request.messages)
    chat = chat_request({"model": request.model, "messages": messages}, translator)
    total = estimate_prompt_tokens(chat)
    if request.tools:
        total += len(msgspec.json.encode(request.tools)) // CHARS_PER_TOKEN + 1
    return total


def token_count_body(raw: dict[str, Any]) -> bytes:
    return wire.json_encoder.encode(wire.TokenCount(count_tokens(raw)))
